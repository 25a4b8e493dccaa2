package pgstore

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/bodytap/bodytap/filter"
	"github.com/bodytap/bodytap/store"
	"github.com/jackc/pgx/v5"
)

// A plan is a query compiled to SQL: maybe selects every exchange the
// query selects (and perhaps others); sure holds for rows that surely
// match. Where they differ, Go decides the row: first from the row's
// columns (see decideRow), else from the whole exchange (Filter.Match).
type plan struct {
	maybe, sure string
	args        []any
	q           *store.Query
}

// sql returns the query text made of parts that use the plan's
// conditions, and its arguments: those that the text refers to, numbered
// again, since PostgreSQL refuses a parameter that no part refers to
// (the simplifications of and, or and not may have dropped some).
func (p *plan) sql(parts ...string) (string, []any) {
	text := strings.Join(parts, "")
	var args []any
	seen := map[string]string{}
	text = placeholder.ReplaceAllStringFunc(text, func(ph string) string {
		if n, ok := seen[ph]; ok {
			return n
		}
		i, _ := strconv.Atoi(ph[1:])
		args = append(args, p.args[i-1])
		seen[ph] = fmt.Sprintf("$%d", len(args))
		return seen[ph]
	})
	return text, args
}

var placeholder = regexp.MustCompile(`\$[0-9]+`)

// exact reports whether SQL alone decides every row.
func (p *plan) exact() bool { return p.maybe == p.sure }

// A cond is what SQL can say of a node for a row: it surely matches
// where sure holds, and may match only where maybe holds. Neither is ever
// NULL.
type cond struct{ sure, maybe string }

var (
	condTrue  = cond{"TRUE", "TRUE"}
	condFalse = cond{"FALSE", "FALSE"}
)

func exactCond(sql string) cond { return cond{sql, sql} }

// maxTerms is how many distinct values of a column a filter turns into a
// list; past it, the column's regular expressions run in Go.
const maxTerms = 4096

// querier is a connection pool, a connection or a transaction.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

type compiler struct {
	ctx        context.Context
	tx         querier
	utf8       bool // the database's encoding is UTF-8: see pgRegexp
	regexpLike bool // the server has regexp_like
	counting   bool // compiling a count: see matchText
	args       []any
	terms      [numTermKinds][]string
	full       [numTermKinds]bool // more than maxTerms values
	load       [numTermKinds]bool
}

func (c *compiler) arg(v any) string {
	c.args = append(c.args, v)
	return fmt.Sprintf("$%d", len(c.args))
}

// compiler returns a compiler of s's queries; tx reads the terms.
func (s *Store) compiler(ctx context.Context, tx querier) *compiler {
	return &compiler{ctx: ctx, tx: tx, utf8: s.utf8, regexpLike: s.regexpLike}
}

// again returns a compiler of no arguments that knows the terms c read.
func (c *compiler) again() *compiler {
	return &compiler{ctx: c.ctx, tx: c.tx, utf8: c.utf8, regexpLike: c.regexpLike, counting: c.counting,
		terms: c.terms, full: c.full, load: c.load}
}

// compile compiles q with the compiler c, new or made by again.
func (c *compiler) compile(q *store.Query) (*plan, error) {
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
	p := &plan{maybe: "TRUE", sure: "TRUE", q: q}
	if q.Filter != nil && q.Filter.Root != nil {
		n, err := c.node(q.Filter.Root)
		if err != nil {
			return nil, err
		}
		p.maybe, p.sure = n.maybe, n.sure
	}
	if len(conds) > 0 {
		bounds := strings.Join(conds, " AND ")
		p.maybe = and(bounds, p.maybe)
		p.sure = and(bounds, p.sure)
	}
	p.args = c.args
	return p, nil
}

func and(x, y string) string {
	switch {
	case x == "TRUE":
		return y
	case y == "TRUE":
		return x
	case x == "FALSE" || y == "FALSE":
		return "FALSE"
	}
	return "(" + x + " AND " + y + ")"
}

func or(x, y string) string {
	switch {
	case x == "FALSE":
		return y
	case y == "FALSE":
		return x
	case x == "TRUE" || y == "TRUE":
		return "TRUE"
	}
	return "(" + x + " OR " + y + ")"
}

func not(x string) string {
	switch x {
	case "TRUE":
		return "FALSE"
	case "FALSE":
		return "TRUE"
	}
	return "NOT " + x
}

func (c *compiler) node(n filter.Node) (cond, error) {
	switch n := n.(type) {
	case nil:
		return condTrue, nil
	case filter.And:
		x, err := c.node(n.X)
		if err != nil {
			return cond{}, err
		}
		y, err := c.node(n.Y)
		if err != nil {
			return cond{}, err
		}
		return cond{and(x.sure, y.sure), and(x.maybe, y.maybe)}, nil
	case filter.Or:
		x, err := c.node(n.X)
		if err != nil {
			return cond{}, err
		}
		y, err := c.node(n.Y)
		if err != nil {
			return cond{}, err
		}
		return cond{or(x.sure, y.sure), or(x.maybe, y.maybe)}, nil
	case filter.Not:
		x, err := c.node(n.X)
		if err != nil {
			return cond{}, err
		}
		// Surely not X where X may not match; maybe where X is not sure.
		return cond{not(x.maybe), not(x.sure)}, nil
	case filter.Flag:
		return exactCond(flagSQL(n.Op)), nil
	case filter.Status:
		return exactCond(fmt.Sprintf("(e.status <> 0 AND e.status BETWEEN %d AND %d)", n.Lo, n.Hi)), nil
	case filter.Compare:
		return exactCond(compareSQL(n)), nil
	case filter.Path:
		prefix := n.Prefix
		if !strings.HasPrefix(n.Glob, prefix) || prefix == "" {
			return cond{"FALSE", "TRUE"}, nil
		}
		return cond{"FALSE", lossyOr("starts_with(e.path, " + c.arg(prefix) + ")")}, nil
	case filter.Match:
		return c.match(n)
	}
	return condFalse, nil // Filter.Match matches no other node
}

func flagSQL(op filter.Op) string {
	switch op {
	case filter.OpAll, filter.OpHTTP:
		return "TRUE"
	case filter.OpAsset:
		return "(" + flagSet(flagAsset) + ")"
	case filter.OpError:
		return "(" + flagSet(flagError) + ")"
	case filter.OpNoResp:
		return "(e.status = 0)"
	case filter.OpResponse:
		return "(e.status <> 0)"
	case filter.OpWebsocket:
		return "(" + flagSet(flagWebsocket) + ")"
	}
	return "FALSE"
}

func compareSQL(n filter.Compare) string {
	var col string
	switch n.Op {
	case filter.OpDuration:
		col = "e.duration"
	case filter.OpSize:
		col = "GREATEST(e.req_size, e.resp_size)"
	case filter.OpReqSize:
		col = "e.req_size"
	case filter.OpRespSize:
		col = "e.resp_size"
	default:
		return "FALSE"
	}
	switch n.Cmp {
	case "<", "<=", ">", ">=", "=":
	default:
		return "FALSE"
	}
	return fmt.Sprintf("(%s %s %d)", col, n.Cmp, n.Value)
}

// The planner has no statistics for an expression such as flags & 32:
// it guesses that flags & N <> 0 holds for 99.5% of rows and flags & N = 0
// for 0.5%, and plans from there. Guessing that a condition holds almost
// nowhere, it would sort every row that may match to return the newest
// 256, instead of reading backwards along the ID (at a million rows, a
// second a page instead of a millisecond); guessing that it holds almost
// everywhere, it would read backwards along the ID for a filter that
// matches nothing. So the conditions on flags are written as the planner
// can judge them: flagLossy, the highest bit, as a range of flags, which
// the column's statistics estimate; the others as (flags & N) < 1 and
// > 0, which it guesses hold for a third of rows.

// lossyOr returns a condition that holds where sql does or the row's
// strings are not the exchange's (flagLossy): there SQL cannot tell.
func lossyOr(sql string) string {
	return fmt.Sprintf("(e.flags >= %d OR %s)", flagLossy, sql)
}

// notLossyAnd returns a condition that holds where sql does on a row
// whose strings are the exchange's.
func notLossyAnd(sql string) string {
	return fmt.Sprintf("(e.flags < %d AND %s)", flagLossy, sql)
}

// flagSet and flagClear return conditions that hold where the flag bit is
// set, and clear.
func flagSet(bit int) string   { return fmt.Sprintf("(e.flags & %d) > 0", bit) }
func flagClear(bit int) string { return fmt.Sprintf("(e.flags & %d) < 1", bit) }

func (c *compiler) match(m filter.Match) (cond, error) {
	re := m.Re
	if re == nil {
		return cond{"FALSE", "TRUE"}, nil // compiled by Filter.Match: Go decides
	}
	resp := func(x cond) cond {
		return cond{and("(e.status <> 0)", x.sure), and("(e.status <> 0)", x.maybe)}
	}
	switch m.Op {
	case filter.OpMethod:
		return c.terms1(termMethod, "e.method", re)
	case filter.OpDomain:
		return c.terms1(termDomain, "e.domain", re)
	case filter.OpRoute:
		return c.terms1(termRoute, "e.route", re)
	case filter.OpReqContentType:
		return c.termsList(termReqCtype, "e.req_ctype", re)
	case filter.OpRespContentType:
		x, err := c.termsList(termCtype, "e.ctype", re)
		return resp(x), err
	case filter.OpContentType:
		x, err := c.termsList(termReqCtype, "e.req_ctype", re)
		if err != nil {
			return cond{}, err
		}
		y, err := c.termsList(termCtype, "e.ctype", re)
		y = resp(y)
		return cond{or(x.sure, y.sure), or(x.maybe, y.maybe)}, err
	case filter.OpURL:
		return c.matchText("e.url", re), nil
	case filter.OpSrc:
		return c.matchText("e.remote", re), nil
	case filter.OpDst, filter.OpHeader, filter.OpReqHeader:
		return cond{"FALSE", "TRUE"}, nil
	case filter.OpRespHeader:
		return cond{"FALSE", "(e.status <> 0)"}, nil
	case filter.OpReqBody:
		return cond{"FALSE", "(" + flagClear(flagReqWithheld) + ")"}, nil
	case filter.OpRespBody:
		return cond{"FALSE", "(e.status <> 0 AND " + flagClear(flagRespWithheld) + ")"}, nil
	case filter.OpBody:
		return cond{"FALSE", "(" + flagClear(flagReqWithheld) + " OR e.status <> 0 AND " + flagClear(flagRespWithheld) + ")"}, nil
	}
	return condFalse, nil
}

// chunkConds returns conditions on a row of blooms that hold for every
// chunk that may hold an exchange n selects (see chunkKeys): those of
// the matches on the method, the domain and the status and-ed at the top
// of n. A list of values that a regular expression matches is that of
// the terms, as for the rows (terms1); with too many terms to list, or
// none, a match adds no condition but the NULL lists of unknown chunks.
func (c *compiler) chunkConds(n filter.Node) ([]string, error) {
	switch n := n.(type) {
	case filter.And:
		x, err := c.chunkConds(n.X)
		if err != nil {
			return nil, err
		}
		y, err := c.chunkConds(n.Y)
		return append(x, y...), err
	case filter.Status:
		return []string{fmt.Sprintf("(statuses IS NULL OR EXISTS (SELECT FROM unnest(statuses) v WHERE v <> 0 AND v BETWEEN %d AND %d))", n.Lo, n.Hi)}, nil
	case filter.Match:
		kind, col := termMethod, "methods"
		switch {
		case n.Re == nil:
			return nil, nil
		case n.Op == filter.OpDomain:
			kind, col = termDomain, "domains"
		case n.Op != filter.OpMethod:
			return nil, nil
		}
		in, ok, err := c.matching(kind, n.Re)
		if err != nil || !ok {
			return nil, err
		}
		if in == nil {
			in = []string{} // not NULL: && of no value is FALSE
		}
		return []string{"(" + col + " IS NULL OR " + col + " && " + c.arg(in) + "::text[])"}, nil
	}
	return nil, nil
}

// matchText compiles a match of the text column col. SQL decides it,
// but on lossy rows, where re translates to a PostgreSQL regular
// expression (pgRegexp), for a count and where re holds no literal to
// narrow by; else SQL narrows it by the literals re needs, and Go decides
// the rows that hold them. PostgreSQL runs a regular expression slowly:
// 1 to 1.5 µs a URL, where strpos takes 0.1, and Go decides a row it
// read anyway for less. So a page of ~u /orders/ (a quarter of the
// rows) at 300,000 exchanges took 1.0 to 1.2 ms narrowed by its literals
// and 1.3 to 1.4 with the regular expression after them, while its
// count took 230 to 270 ms with the regular expression, one count(*),
// and 500 ms reading every candidate into Go; a first page of
// ~u "(orders|users)/[89][0-9]{4}$", without literals, 2.8 ms with it
// and 9.2 without. The regular expression runs last, on the rows that
// hold the literals, and as regexp_like where the server has it: the
// planner estimates ~ by running the pattern over each partition's
// statistics (0.5 to 1 ms a query of the store's 10 partitions), and
// regexp_like it does not.
func (c *compiler) matchText(col string, re *regexp.Regexp) cond {
	lits := c.literals(col, re)
	if c.utf8 && (c.counting || len(lits) == 0) {
		if pg, ok := pgRegexp(re); ok {
			pat := c.arg(pg)
			sql := "(" + col + " ~ " + pat + ")"
			if c.regexpLike {
				sql = "regexp_like(" + col + ", " + pat + ")"
			}
			return cond{notLossyAnd(sql), lossyOr(strings.Join(append(lits, sql), " AND "))}
		}
	}
	return narrow(lits)
}

// narrow returns the condition of a match that SQL only narrows by the
// conditions on its literals, lits, and Go decides.
func narrow(lits []string) cond {
	if len(lits) == 0 {
		return cond{"FALSE", "TRUE"}
	}
	return cond{"FALSE", lossyOr(strings.Join(lits, " AND "))}
}

// literals returns conditions that hold where the value of the text
// column col contains the literal strings that every match of re
// contains: strpos, first for the exact ones (and those without a
// letter), then in lower(col) for those that ignore ASCII case (the
// column's collation is C, in which lower folds ASCII alone, as ILIKE
// would). Not ILIKE: the planner estimates it by running the pattern
// over each partition's statistics, which took 0.4 ms of every page of
// ~u /orders/ at 300,000 exchanges (1.9 ms a page with ILIKE, 1.1 to
// 1.3 with lower). The literals are those of neededLiterals: ~u ignores case, and
// ~u /orders/ would have none with relit's alone (s also matches ſ), so
// that every row would be read and decided in Go.
func (c *compiler) literals(col string, re *regexp.Regexp) []string {
	var exact, fold []string
	for _, lit := range neededLiterals(re) {
		if len(exact)+len(fold) == 3 {
			break
		}
		if lit.Fold && strings.ToLower(lit.S) != strings.ToUpper(lit.S) {
			fold = append(fold, "strpos(lower("+col+"), "+c.arg(strings.ToLower(lit.S))+") > 0")
		} else {
			exact = append(exact, "strpos("+col+", "+c.arg(lit.S)+") > 0")
		}
	}
	return append(exact, fold...)
}

// loadTerms reads the distinct values of a kind, once per query.
func (c *compiler) loadTerms(kind int) error {
	if c.load[kind] {
		return nil
	}
	c.load[kind] = true
	rows, err := c.tx.Query(c.ctx, "SELECT value FROM terms WHERE kind = $1 LIMIT $2", kind, maxTerms+1)
	if err != nil {
		return err
	}
	vs, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return err
	}
	c.terms[kind], c.full[kind] = vs, len(vs) > maxTerms
	return nil
}

// matching returns the values of kind that re matches, or ok false when
// there are too many values to list.
func (c *compiler) matching(kind int, re *regexp.Regexp) (in []string, ok bool, err error) {
	if err := c.loadTerms(kind); err != nil {
		return nil, false, err
	}
	if c.full[kind] {
		return nil, false, nil
	}
	for _, v := range c.terms[kind] {
		if re.MatchString(v) {
			in = append(in, v)
		}
	}
	return in, true, nil
}

// terms1 compiles a match of the text column col, whose values the terms
// of kind keep, to the list of values re matches.
func (c *compiler) terms1(kind int, col string, re *regexp.Regexp) (cond, error) {
	in, ok, err := c.matching(kind, re)
	switch {
	case err != nil:
		return cond{}, err
	case !ok:
		return narrow(c.literals(col, re)), nil
	case len(in) == 0:
		return cond{"FALSE", lossyOr("FALSE")}, nil
	}
	sql := col + " = ANY(" + c.arg(in) + "::text[])"
	return cond{notLossyAnd(sql), lossyOr(sql)}, nil
}

// termsList compiles a match of the array column col (one of whose
// values must match).
func (c *compiler) termsList(kind int, col string, re *regexp.Regexp) (cond, error) {
	in, ok, err := c.matching(kind, re)
	switch {
	case err != nil:
		return cond{}, err
	case !ok:
		return cond{"FALSE", "TRUE"}, nil
	case len(in) == 0:
		return cond{"FALSE", lossyOr("FALSE")}, nil
	}
	sql := col + " && " + c.arg(in) + "::text[]"
	return cond{notLossyAnd(sql), lossyOr(sql)}, nil
}
