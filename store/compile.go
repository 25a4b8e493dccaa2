package store

import (
	"bytes"
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"net/url"
	"regexp"
	"regexp/syntax"
	"strconv"
	"strings"

	"github.com/bodytap/bodytap"
	"github.com/bodytap/bodytap/filter"
	"github.com/bodytap/bodytap/internal/relit"
)

// A plan is a Query compiled to SQL: conditions on the exchanges table
// (as e) that select the exchanges the query selects, or, when the filter
// has parts SQL cannot decide (header matches, say), a superset of them
// among which Filter.Match decides.
type plan struct {
	where   string // "1" for none
	order   string // of a page: "e.id DESC", or "+e.id DESC" to keep the planner from the ID index
	args    []any
	exact   bool           // where selects exactly what the query does
	filter  *filter.Filter // what decides when !exact
	handles []int64        // matchers to remove when done

	// Of a modeChunk plan: whether the filter reads bodies, the rows
	// in the table (first and last rid, 0 if none), the chunk size of
	// the skip index (-1: none), and the chunks that a body match of
	// the whole filter's conjuncts rules out.
	body     bool
	rids     [2]int64
	shift    int64
	skip     map[int64]bool
	goBodies []goBody // body matches of conjuncts, left to Go for the exchanges in the log
	keyed    int      // chunks that the keys of conjuncts rule out (see keys.go), in skip
}

// close releases the matchers of p.
func (p *plan) close() {
	for _, h := range p.handles {
		removeMatcher(h)
	}
	p.handles = nil
}

// How a plan is to be run, which decides how its conditions use the
// indexes.
type planMode int

const (
	// modePage: newest first, a page at a time (ORDER BY id DESC
	// LIMIT n). A condition an index serves by a range or a list of
	// values is probed: if it matches many rows (see probeLimit), walking
	// the ID index newest first and testing each row finds a page sooner
	// than reading them all from its index and sorting them, so its
	// index is not used.
	modePage planMode = iota
	// modeAll: every row that matches (Count): indexes serve as they can.
	modeAll
	// modeTail: in commit order after a row (Subscribe), across
	// transactions: no terms, and no index but the table's own.
	modeTail
	// modeChunk: a range of rids at a time, in several transactions
	// (a body search, see chunkSearch): terms, and no index but the
	// table's own; the chunks that a body match of a conjunct of the
	// filter rules out are left in the plan's skip, not in its SQL.
	modeChunk
)

// probeLimit returns how many rows a probe counts at most: past it, a
// condition's index is not used to read a page of limit rows from a
// table of rows. Reading m rows from the index and sorting them costs
// about m; reading newest first until limit of them match, about
// limit*rows/m: they break even at m = sqrt(limit*rows).
func probeLimit(limit int, rows int64) int {
	return min(max(int(math.Sqrt(float64(limit)*float64(rows))), 256), 8192)
}

// A compiler turns a Query into a plan.
type compiler struct {
	ctx   context.Context
	mode  planMode
	probe int // probeLimit of a modePage plan
	// tx reads the terms and probes, in the transaction that runs the
	// plan; nil in modeTail.
	tx        queryer
	termsFull int64
	terms     [numTermKinds][]string
	loaded    [numTermKinds]bool
	args      []any
	handles   []int64
	slots     []slot
	top       bool     // compiling a conjunct of the whole filter
	segs      [2]int64 // the first and last segment of the table
	rids      [2]int64 // the first and last rid of the table
	bodies    bool     // a body match was compiled
	skip      map[int64]bool
	goBodies  []goBody
	keyConjs  []keyConj  // conjuncts of the whole filter in modeChunk (see keyed)
	page      bool       // a modeChunk plan for a page (or a Scan): see skipKeyed
	shift     int64      // chunk_shift of the skip index
	lr        *logReader // nil for a file of a version before the log
}

type queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// compile compiles q to run in mode, in pages of limit rows in
// modePage. The caller must close the plan.
func (s *Store) compile(ctx context.Context, tx queryer, q Query, mode planMode, limit int) (*plan, error) {
	c := &compiler{ctx: ctx, tx: tx, mode: mode, lr: s.lr, page: mode == modeChunk && limit > 0}
	if mode == modeTail {
		c.tx = nil
	}
	if c.tx != nil {
		var rows int64
		err := tx.QueryRowContext(ctx, `SELECT
			(SELECT value FROM state WHERE key = 'terms_full'),
			(SELECT value FROM state WHERE key = 'count'),
			coalesce((SELECT value FROM state WHERE key = 'chunk_shift'), -1),
			coalesce((SELECT min(rid) FROM exchanges), 0),
			coalesce((SELECT max(rid) FROM exchanges), 0)`).Scan(&c.termsFull, &rows, &c.shift, &c.rids[0], &c.rids[1])
		if err != nil {
			return nil, err
		}
		c.segs = [2]int64{c.rids[0] >> segShift, c.rids[1] >> segShift}
		c.probe = probeLimit(limit, rows)
	}
	var conds []string
	if !q.Since.IsZero() {
		conds = append(conds, "e.id >= "+c.arg(idAt(q.Since.UnixMilli())), "e.start >= "+c.arg(q.Since.UnixNano()))
	}
	if !q.Until.IsZero() {
		conds = append(conds, "e.id < "+c.arg(idAt(q.Until.UnixMilli()+1)), "e.start < "+c.arg(q.Until.UnixNano()))
	}
	if !q.Before.IsZero() {
		conds = append(conds, "e.id < "+c.arg(q.Before[:]))
	}
	if !q.After.IsZero() {
		conds = append(conds, "e.id > "+c.arg(q.After[:]))
	}
	p := &plan{exact: true, filter: q.Filter}
	if q.Filter != nil && q.Filter.Root != nil {
		c.top = true
		w, exact, err := c.node(q.Filter.Root)
		if err != nil {
			for _, h := range c.handles {
				removeMatcher(h)
			}
			return nil, err
		}
		if w != "1" {
			conds = append(conds, w)
		}
		p.exact = exact
		if len(c.keyConjs) > 0 {
			if err := c.skipKeyed(p); err != nil {
				for _, h := range c.handles {
					removeMatcher(h)
				}
				return nil, err
			}
		}
	}
	p.where = "1"
	if len(conds) > 0 {
		p.where = strings.Join(conds, " AND ")
	}
	p.where, p.order = c.resolve(p.where)
	p.args, p.handles = c.args, c.handles
	p.body, p.rids, p.shift, p.skip, p.goBodies = c.bodies, c.rids, c.shift, c.skip, c.goBodies
	if c.tx == nil {
		p.shift = -1
	}
	return p, nil
}

// keyed records that every exchange the condition being compiled
// matches has one of vals as its value of kind (see keys.go), if it is a
// conjunct of the whole filter of a modeChunk plan.
func (c *compiler) keyed(kind int, vals []string) {
	if c.top && c.mode == modeChunk && c.tx != nil {
		k := keyConj{kind: kind, vals: vals}
		for _, v := range vals {
			k.keys = append(k.keys, keyHash(kind, v))
		}
		c.keyConjs = append(c.keyConjs, k)
	}
}

// skipKeyed adds to the plan's skip the chunks whose keys rule out one
// of the conjuncts keyed recorded (or a pair of them). For a page, it
// first looks at the newest keysProbe chunks: if they mostly may hold
// the values, it skips nothing, and the page walks the ID index.
func (c *compiler) skipKeyed(p *plan) error {
	var version int
	if err := c.tx.QueryRowContext(c.ctx, "PRAGMA user_version").Scan(&version); err != nil {
		return err
	}
	if version < keysVersion || c.shift < 0 {
		return nil // a file opened read-only as it is: no keys
	}
	if c.page {
		skip, looked, err := keyedChunks(c.ctx, c.tx, c.keyConjs, keysProbe)
		if err != nil {
			return err
		}
		if looked == keysProbe && len(skip)*2 < looked {
			return nil
		}
	}
	skip, _, err := keyedChunks(c.ctx, c.tx, c.keyConjs, 0)
	if err != nil {
		return err
	}
	if c.skip == nil {
		c.skip = make(map[int64]bool, len(skip))
	}
	for _, ch := range skip {
		if !c.skip[ch] {
			c.skip[ch] = true
			p.keyed++
		}
	}
	return nil
}

// idAt returns the smallest ID of the millisecond ms, as a column value.
func idAt(ms int64) []byte {
	var id bodytap.ID
	binary.BigEndian.PutUint64(id[0:8], uint64(max(ms, 0))<<16)
	return id[:]
}

// arg adds an argument and returns its placeholder.
func (c *compiler) arg(v any) string {
	c.args = append(c.args, v)
	return "?"
}

// matcher registers m for the plan and returns the SQL that calls it on
// the values of the expressions cols.
func (c *compiler) matcher(m matcher, cols ...string) string {
	return c.fallible(func(v []driver.Value) (bool, error) { return m(v), nil }, cols...)
}

// fallible is matcher for a matcher that may fail.
func (c *compiler) fallible(m fallibleMatcher, cols ...string) string {
	h := addMatcher(m)
	c.handles = append(c.handles, h)
	return fmt.Sprintf("bodytap_match(%d, %s)", h, strings.Join(cols, ", "))
}

// node compiles n to a condition that holds for every exchange n matches;
// exact reports that it holds for no other. A condition is never NULL.
func (c *compiler) node(n filter.Node) (cond string, exact bool, err error) {
	switch n := n.(type) {
	case nil:
		return "1", true, nil
	case filter.And:
		x, ex, err := c.node(n.X)
		if err != nil {
			return "", false, err
		}
		y, ey, err := c.node(n.Y)
		if err != nil {
			return "", false, err
		}
		switch {
		case x == "1":
			return y, ex && ey, nil
		case y == "1":
			return x, ex && ey, nil
		}
		return "(" + x + " AND " + y + ")", ex && ey, nil
	case filter.Or:
		top := c.top
		c.top = false
		defer func() { c.top = top }()
		mark := len(c.args)
		x, ex, err := c.node(n.X)
		if err != nil {
			return "", false, err
		}
		y, ey, err := c.node(n.Y)
		if err != nil {
			return "", false, err
		}
		if x == "1" || y == "1" {
			// The other side's condition is dropped: so are its
			// arguments, or they would bind to the placeholders that
			// come after (a page's cursor, say).
			c.args = c.args[:mark]
			return "1", ex && ey, nil
		}
		return "(" + x + " OR " + y + ")", ex && ey, nil
	case filter.Not:
		top := c.top
		c.top = false
		defer func() { c.top = top }()
		mark := len(c.args)
		x, ex, err := c.node(n.X)
		if err != nil {
			return "", false, err
		}
		if !ex {
			// Of "not X" SQL knows nothing, knowing only a superset of X.
			c.args = c.args[:mark]
			return "1", false, nil
		}
		return "NOT " + x, true, nil
	case filter.Flag:
		if n.Op == filter.OpError {
			c.keyed(keyError, []string{""})
		}
		return c.flag(n.Op), true, nil
	case filter.Status:
		// No index: the keys of chunks, or each row (see keys.go).
		if n.Hi-n.Lo < 1000 {
			var vals []string
			for st := n.Lo; st <= n.Hi; st++ {
				vals = append(vals, strconv.Itoa(st))
			}
			c.keyed(keyStatus, vals)
		}
		if n.Lo == n.Hi {
			return fmt.Sprintf("(e.status != 0 AND e.status = %d)", n.Lo), true, nil
		}
		return fmt.Sprintf("(e.status != 0 AND e.status BETWEEN %d AND %d)", n.Lo, n.Hi), true, nil
	case filter.Compare:
		return c.compare(n), true, nil
	case filter.Path:
		return c.path(n), true, nil
	case filter.Match:
		return c.match(n)
	}
	// Filter.Match matches no node of another type.
	return "0", true, nil
}

func (c *compiler) flag(op filter.Op) string {
	switch op {
	case filter.OpAll, filter.OpHTTP:
		return "1"
	case filter.OpAsset:
		return fmt.Sprintf("e.flags & %d != 0", flagAsset)
	case filter.OpError:
		return "e.error != ''"
	case filter.OpNoResp:
		return "e.status = 0"
	case filter.OpResponse:
		return "e.status != 0"
	case filter.OpWebsocket:
		return fmt.Sprintf("e.flags & %d != 0", flagWebsocket)
	}
	return "0"
}

func (c *compiler) compare(n filter.Compare) string {
	var col string
	switch n.Op {
	case filter.OpDuration:
		col = "e.duration"
	case filter.OpSize:
		col = "max(e.req_size, e.resp_size)"
	case filter.OpReqSize:
		col = "e.req_size"
	case filter.OpRespSize:
		col = "e.resp_size"
	default:
		return "0"
	}
	switch n.Cmp {
	case "<", "<=", ">", ">=", "=":
	default:
		return "0"
	}
	// No index: the rows are tested as the page is read (see schema.go,
	// version 4).
	// Parenthesized: a Not put before it must negate all of it.
	return fmt.Sprintf("(%s %s %d)", col, n.Cmp, n.Value)
}

// inSegments returns the condition that a row is in one of the segments
// the table holds, for an index that leads with the segment.
func (c *compiler) inSegments(ref func(string) string) string {
	if c.tx == nil {
		return "1"
	}
	var b strings.Builder
	b.WriteString(ref("e.seg"))
	b.WriteString(" IN (")
	for seg := c.segs[0]; seg <= c.segs[1]; seg++ {
		if seg > c.segs[0] {
			b.WriteString(", ")
		}
		b.WriteString(strconv.FormatInt(seg, 10))
	}
	b.WriteString(")")
	return b.String()
}

// A slot is a condition that an index can serve. Whether the planner may
// use the index is decided when the whole filter is compiled (see
// resolve).
type slot struct {
	count int  // rows the condition matches, up to the probe limit; -1: not probed
	top   bool // the condition is a conjunct of the whole filter
}

// marker stands in the SQL text, until resolve, before each column of
// slot i.
func marker(i int) string { return fmt.Sprintf("\x00%d\x00", i) }

// indexed returns the condition that build makes, as a slot: build
// writes each column the index serves as ref(column). If probe, the
// condition is a range or a list of values, which the index reads in
// another order than by ID: in modePage it is first counted, up to the
// probe limit.
func (c *compiler) indexed(probe bool, build func(ref func(string) string) (string, []any)) string {
	sl := slot{count: -1, top: c.top}
	if probe && c.mode == modePage {
		cond, args := build(func(col string) string { return col })
		err := c.tx.QueryRowContext(c.ctx, "SELECT count(*) FROM (SELECT 1 FROM exchanges e WHERE "+cond+" LIMIT ?)",
			append(args[:len(args):len(args)], c.probe)...).Scan(&sl.count)
		if err != nil {
			sl.count = c.probe
		}
	}
	c.slots = append(c.slots, sl)
	m := marker(len(c.slots) - 1)
	cond, args := build(func(col string) string { return m + col })
	c.args = append(c.args, args...)
	return cond
}

// resolve writes the columns of the slots of where as they are, or with
// a unary + that keeps the planner from their index (and does nothing
// else), and returns the ORDER BY of a page.
//
// In modePage, if a conjunct of the filter matches few rows (fewer than
// the probe limit), the rarest one drives the query: only its index is
// used, and its rows are sorted by ID. Otherwise a range or list that
// matches many rows is kept from its index, so that the planner walks
// the ID index newest first (or an index on (column, id) with an equality,
// which reads in the same order) and stops at a page. In modeAll the
// planner uses any index; in modeTail none.
func (c *compiler) resolve(where string) (string, string) {
	driver := -1
	if c.mode == modePage {
		for i, sl := range c.slots {
			if sl.top && sl.count >= 0 && sl.count < c.probe && (driver < 0 || sl.count < c.slots[driver].count) {
				driver = i
			}
		}
	}
	for i, sl := range c.slots {
		plus := ""
		switch {
		case c.mode == modeTail, c.mode == modeChunk,
			c.mode == modePage && driver >= 0 && i != driver,
			c.mode == modePage && driver < 0 && sl.count >= c.probe:
			plus = "+"
		}
		where = strings.ReplaceAll(where, marker(i), plus)
	}
	if driver >= 0 {
		return where, "+e.id DESC"
	}
	return where, "e.id DESC"
}

// path compiles a glob on the path: a range scan of the index on path for
// the glob's literal prefix, then the glob itself, as Filter.Match
// matches it.
func (c *compiler) path(n filter.Path) string {
	f := &filter.Filter{Root: n}
	glob := c.matcher(func(v []driver.Value) bool {
		x := &bodytap.Exchange{Request: bodytap.Request{URL: &url.URL{Path: str(v[0])}}}
		return f.Match(x)
	}, "e.path")
	prefix := n.Prefix
	if !strings.HasPrefix(n.Glob, prefix) {
		prefix = "" // not what the parser makes: no help from it
	}
	if prefix == "" {
		return glob
	}
	cond := c.indexed(true, func(ref func(string) string) (string, []any) {
		col := ref("e.path")
		if up, ok := prefixEnd(prefix); ok {
			return c.inSegments(ref) + " AND " + col + " >= ? AND " + col + " < ?", []any{prefix, up}
		}
		return c.inSegments(ref) + " AND " + col + " >= ?", []any{prefix}
	})
	return "(" + cond + " AND " + glob + ")"
}

// prefixEnd returns the smallest string greater than every string that has
// the prefix p, in byte order, if there is one.
func prefixEnd(p string) (string, bool) {
	b := []byte(p)
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] < 0xff {
			b[i]++
			return string(b[:i+1]), true
		}
	}
	return "", false
}

func (c *compiler) match(m filter.Match) (string, bool, error) {
	re := m.Re
	if re == nil {
		// Compiled by Filter.Match with the operator's flags: leave it
		// to Match.
		return "1", false, nil
	}
	respOnly := func(cond string) string { return "(e.status != 0 AND " + cond + ")" }
	term := func(kind int, col string, m matcher) (string, bool, error) {
		cond, vals, known, err := c.termMatch(kind, col, re, m)
		if known {
			c.keyed(kind, vals)
		}
		return cond, true, err
	}
	switch m.Op {
	case filter.OpMethod:
		return term(termMethod, "e.method", stringMatcher(re))
	case filter.OpDomain:
		return term(termDomain, "e.domain", stringMatcher(re))
	case filter.OpRoute:
		return term(termRoute, "e.route", stringMatcher(re))
	case filter.OpReqContentType:
		return term(termReqCtype, "e.req_ctype", listMatcher(re))
	case filter.OpRespContentType:
		cond, exact, err := term(termCtype, "e.ctype", listMatcher(re))
		return respOnly(cond), exact, err
	case filter.OpContentType:
		req, reqVals, reqKnown, err := c.termMatch(termReqCtype, "e.req_ctype", re, listMatcher(re))
		if err != nil {
			return "", false, err
		}
		resp, respVals, respKnown, err := c.termMatch(termCtype, "e.ctype", re, listMatcher(re))
		if reqKnown && respKnown && c.top && c.mode == modeChunk && c.tx != nil {
			// Either column's: keys of two kinds, no pairs.
			k := keyConj{kind: -1}
			for _, v := range reqVals {
				k.keys = append(k.keys, keyHash(termReqCtype, v))
			}
			for _, v := range respVals {
				k.keys = append(k.keys, keyHash(termCtype, v))
			}
			c.keyConjs = append(c.keyConjs, k)
		}
		return "(" + req + " OR " + respOnly(resp) + ")", true, err
	case filter.OpURL:
		return c.regexp("e.url", re, stringMatcher(re)), true, nil
	case filter.OpSrc:
		return c.regexp("e.remote", re, stringMatcher(re)), true, nil
	case filter.OpDst:
		// What Filter.Match matches, on the URL and Host that Get
		// returns.
		f := &filter.Filter{Root: m}
		return c.matcher(func(v []driver.Value) bool {
			x := &bodytap.Exchange{Request: bodytap.Request{Host: str(v[1])}}
			if s := str(v[0]); s != "" {
				if u, err := url.Parse(s); err == nil {
					x.Request.URL = u
				}
			}
			return f.Match(x)
		}, "e.url", "e.host"), true, nil
	case filter.OpBody, filter.OpReqBody, filter.OpRespBody:
		cond, err := c.body(m.Op, re)
		return cond, true, err
	case filter.OpHeader, filter.OpReqHeader:
		return "1", false, nil
	case filter.OpRespHeader:
		return "e.status != 0", false, nil
	}
	return "0", true, nil
}

// termMatch compiles a match of the column col, whose distinct values the
// terms of kind keep: to an IN list of the values m matches, or, when
// terms no longer keeps them all, to m on each row. It returns the
// values m matches, and whether it knows them.
func (c *compiler) termMatch(kind int, col string, re *regexp.Regexp, m matcher) (cond string, in []string, known bool, err error) {
	if c.tx == nil || c.termsFull&(1<<kind) != 0 {
		return c.regexp(col, re, m), nil, false, nil
	}
	if !c.loaded[kind] {
		rows, err := c.tx.QueryContext(c.ctx, "SELECT value FROM terms WHERE kind = ?", kind)
		if err != nil {
			return "", nil, false, err
		}
		for rows.Next() {
			var v string
			if err := rows.Scan(&v); err != nil {
				rows.Close()
				return "", nil, false, err
			}
			c.terms[kind] = append(c.terms[kind], v)
		}
		if err := rows.Close(); err != nil {
			return "", nil, false, err
		}
		c.loaded[kind] = true
	}
	for _, v := range c.terms[kind] {
		if m([]driver.Value{v}) {
			in = append(in, v)
		}
	}
	switch {
	case len(in) == 0:
		return "0", in, true, nil
	case len(in) > 256:
		return c.regexp(col, re, m), in, true, nil
	case len(in) == 1:
		return col + " = " + c.arg(in[0]), in, true, nil
	}
	args := make([]any, len(in))
	for i, v := range in {
		args[i] = v
	}
	c.args = append(c.args, args...)
	return col + " IN (?" + strings.Repeat(", ?", len(in)-1) + ")", in, true, nil
}

// regexp compiles m, a match of re, on the column col: SQL first looks
// for the literal strings that every match of re contains (see
// relit.Required), which costs less than calling m from SQL.
func (c *compiler) regexp(col string, re *regexp.Regexp, m matcher) string {
	pre := c.literals(col, re)
	if pre == "" {
		return c.matcher(m, col)
	}
	return "(" + pre + " AND " + c.matcher(m, col) + ")"
}

// maxLiterals bounds the literal strings a prefilter looks for.
const maxLiterals = 3

// literals returns conditions that the value of col contains the literal
// strings that every match of re contains, or "" if there are none:
// byte for byte with instr, or ignoring ASCII case with LIKE (only for
// literals whose case-insensitive match is ASCII). A list column
// (encodeList) holds its values in one string, so it contains every
// literal of any of them.
func (c *compiler) literals(col string, re *regexp.Regexp) string {
	t, err := syntax.Parse(re.String(), syntax.Perl)
	if err != nil {
		return ""
	}
	var conds []string
	for _, lit := range relit.Required(t) {
		if len(conds) == maxLiterals {
			break
		}
		if lit.Fold {
			esc := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(lit.S)
			// LIKE stops at a NUL: a value that has one is left to m.
			conds = append(conds, "(instr(CAST("+col+" AS BLOB), x'00') > 0 OR "+
				col+" LIKE "+c.arg("%"+esc+"%")+` ESCAPE '\')`)
		} else {
			conds = append(conds, "instr(CAST("+col+" AS BLOB), "+c.arg([]byte(lit.S))+") > 0")
		}
	}
	return strings.Join(conds, " AND ")
}

// body compiles a match of body copies: where the skip index can tell,
// it leaves out the chunks of exchanges none of whose bodies has every
// trigram of the literal strings that a match must contain; then the
// expression runs on the copies of the others.
func (c *compiler) body(op filter.Op, re *regexp.Regexp) (string, error) {
	c.bodies = true
	m := c.bodyMatcher(re, false)
	reqCond := fmt.Sprintf("(e.flags & %d = 0 AND %s)", flagReqWithheld, m)
	m = c.bodyMatcher(re, true)
	respCond := fmt.Sprintf("(e.status != 0 AND e.flags & %d = 0 AND %s)", flagRespWithheld, m)
	var cond string
	switch op {
	case filter.OpReqBody:
		cond = reqCond
	case filter.OpRespBody:
		cond = respCond
	default:
		cond = "(" + reqCond + " OR " + respCond + ")"
	}
	// A conjunct of the whole filter in a chunk plan is decided in Go
	// for the exchanges in the log: the workers of chunkSearch read
	// their bodies block by block. SQL decides it for the others.
	chunked := c.mode == modeChunk && c.top && c.lr != nil
	if chunked {
		c.goBodies = append(c.goBodies, goBody{op, bodyMatch(re)})
	}
	// A file of version 1, read-only, has no skip index (shift -1).
	if grams := bloomGrams(re); len(grams) > 0 && c.tx != nil && c.shift >= 0 {
		un := int64(bloomReqUnindexed | bloomRespUnindexed)
		switch op {
		case filter.OpReqBody:
			un = bloomReqUnindexed
		case filter.OpRespBody:
			un = bloomRespUnindexed
		}
		skip, err := skippedChunks(c.ctx, c.tx, grams, un)
		if err != nil {
			return "", err
		}
		if c.mode == modeChunk && c.top {
			// A chunk this conjunct rules out is not read at all.
			if c.skip == nil {
				c.skip = make(map[int64]bool, len(skip))
			}
			for _, ch := range skip {
				c.skip[ch] = true
			}
		} else if len(skip) > 0 {
			cond = fmt.Sprintf("((e.rid >> %d) NOT IN %s AND %s)", c.shift, chunkList(skip), cond)
		}
	}
	if chunked {
		return "(e.loc IS NOT NULL OR " + cond + ")", nil
	}
	return cond, nil
}

// A goBody is a body match that a chunk plan leaves to Go for the
// exchanges in the log (see chunkSearch).
type goBody struct {
	op    filter.Op
	match func([]byte) bool
}

// matches reports whether the body copies of rec, of an exchange with
// the status and flags (exchanges.flags), match b as the SQL of
// compiler.body does.
func (b goBody) matches(rec *record, status, flags int64) bool {
	req := func() bool { return flags&flagReqWithheld == 0 && b.match(rec.req) }
	resp := func() bool { return status != 0 && flags&flagRespWithheld == 0 && b.match(rec.resp) }
	switch b.op {
	case filter.OpReqBody:
		return req()
	case filter.OpRespBody:
		return resp()
	}
	return req() || resp()
}

// bodyMatcher returns the SQL that matches re on the request's body
// copy, or the response's: read from the log, or for an exchange stored
// before the log, from bodies.
func (c *compiler) bodyMatcher(re *regexp.Regexp, resp bool) string {
	col := "req"
	if resp {
		col = "resp"
	}
	stored := "(SELECT " + col + " FROM bodies WHERE rid = e.rid)"
	match := bodyMatch(re)
	if c.lr == nil {
		return c.matcher(func(v []driver.Value) bool { return match(bodyBytes(v[0])) }, stored)
	}
	lr := c.lr
	return c.fallible(func(v []driver.Value) (bool, error) {
		loc, ok := v[0].(int64)
		if !ok {
			return match(bodyBytes(v[1])), nil
		}
		rec, err := lr.record(loc)
		switch {
		case errors.Is(err, ErrNotFound):
			return false, nil // removed by retention since the query began
		case err != nil:
			return false, err
		case resp:
			return match(rec.resp), nil
		}
		return match(rec.req), nil
	}, "e.loc", "CASE WHEN e.loc IS NULL THEN "+stored+" END")
}

// str returns a column value as a string.
func str(v driver.Value) string {
	switch v := v.(type) {
	case string:
		return v
	case []byte:
		return string(v)
	}
	return ""
}

func stringMatcher(re *regexp.Regexp) matcher {
	return func(v []driver.Value) bool {
		switch v := v[0].(type) {
		case string:
			return re.MatchString(v)
		case []byte:
			return re.Match(v)
		}
		return re.MatchString("")
	}
}

// bodyBytes returns a body copy's column value; NULL is an empty copy.
func bodyBytes(v driver.Value) []byte {
	switch v := v.(type) {
	case []byte:
		return v
	case string:
		return []byte(v)
	}
	return nil
}

// bodyMatch returns the match of re on a body copy. A body is text that
// an expression ignoring case (as ~b does) matches slowly in Go, which
// finds no literal prefix to look for: the match first looks for the
// literal strings every match contains (see bloomLiterals), ASCII case
// folded, and runs re only on the bodies that hold them all.
func bodyMatch(re *regexp.Regexp) func([]byte) bool {
	var lits []foldLit
	if t, err := syntax.Parse(re.String(), syntax.Perl); err == nil {
		for _, l := range bloomLiterals(t) {
			lits = append(lits, newFoldLit(l))
		}
	}
	if len(lits) == 0 {
		return re.Match
	}
	return func(p []byte) bool {
		for i := range lits {
			if !lits[i].in(p) {
				return false
			}
		}
		return re.Match(p)
	}
}

// A foldLit is a literal string looked for with ASCII case folded: by
// its rarest byte (see byteRank), in either case, with IndexByte, which
// skips the bytes between at the speed of memory, and then by the whole
// string around it.
type foldLit struct {
	lit  []byte // folded
	rare int    // the index of its rarest byte
	a, b byte   // that byte in lower and upper case (the same if not a letter)
}

// byteRank orders bytes from the most frequent in text and JSON to the
// rarest; those not in it are rarer still.
const byteRank = ` "etaoinsrlcdhumpfgybw,:0123456789.v{}k-_xjqz`

func newFoldLit(s string) foldLit {
	l := foldLit{lit: []byte(s)}
	best := -1
	for i, c := range l.lit {
		c = lower[c]
		l.lit[i] = c
		r := strings.IndexByte(byteRank, c)
		if r < 0 {
			r = len(byteRank)
		}
		if r > best {
			best, l.rare = r, i
		}
	}
	l.a, l.b = l.lit[l.rare], l.lit[l.rare]
	if 'a' <= l.a && l.a <= 'z' {
		l.b = l.a - 'a' + 'A'
	}
	return l
}

// in reports whether p holds l, ASCII case folded.
func (l *foldLit) in(p []byte) bool {
	for _, c := range [2]byte{l.a, l.b} {
		for i := 0; i < len(p); {
			j := bytes.IndexByte(p[i:], c)
			if j < 0 {
				break
			}
			if at := i + j - l.rare; at >= 0 && at+len(l.lit) <= len(p) && foldEqual(p[at:at+len(l.lit)], l.lit) {
				return true
			}
			i += j + 1
		}
		if l.a == l.b {
			break
		}
	}
	return false
}

// foldEqual reports whether p, ASCII case folded, is lit.
func foldEqual(p, lit []byte) bool {
	for i, c := range lit {
		if lower[p[i]] != c {
			return false
		}
	}
	return true
}

// listMatcher matches a Content-Type column: a list of values (see
// encodeList), of which one must match.
func listMatcher(re *regexp.Regexp) matcher {
	return func(v []driver.Value) bool {
		for _, s := range decodeList(str(v[0])) {
			if re.MatchString(s) {
				return true
			}
		}
		return false
	}
}
