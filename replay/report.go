package replay

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"strings"
	"time"
)

// A Report is the outcome of a whole replay, as 'bodytap replay --report'
// writes it.
type Report struct {
	Target string    `json:"target"`
	Start  time.Time `json:"start"`

	// Interrupted reports that the replay was stopped before the end:
	// Results then holds only the requests that finished.
	Interrupted bool `json:"interrupted,omitempty"`

	// Counts counts the results by outcome.
	Counts map[Outcome]int `json:"counts"`

	Results []Result `json:"results"`
}

// NewReport returns the report of results.
func NewReport(target string, start time.Time, results []Result, interrupted bool) *Report {
	r := &Report{Target: target, Start: start, Interrupted: interrupted, Results: results, Counts: map[Outcome]int{}}
	for _, o := range Outcomes {
		r.Counts[o] = 0
	}
	for _, res := range results {
		r.Counts[res.Outcome]++
	}
	if r.Results == nil {
		r.Results = []Result{}
	}
	return r
}

// WriteJSON writes r as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// JUnit XML, in the form CI systems (Jenkins, GitLab, GitHub actions that
// read test reports) accept: one test suite, one test case per request.
type junitSuites struct {
	XMLName xml.Name     `xml:"testsuites"`
	Suites  []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name     string      `xml:"name,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Errors   int         `xml:"errors,attr"`
	Skipped  int         `xml:"skipped,attr"`
	Time     string      `xml:"time,attr"`
	Cases    []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitProblem `xml:"failure,omitempty"`
	Error     *junitProblem `xml:"error,omitempty"`
	Skipped   *junitProblem `xml:"skipped,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"` // what was not compared
}

type junitProblem struct {
	Message string `xml:"message,attr"`
	Text    string `xml:",chardata"`
}

// WriteJUnit writes r as JUnit XML: a changed response is a failure with
// its differences, a failed request an error, a skipped or not replayable
// one skipped, with the reason; what could not be compared goes to the
// test case's system-out.
func (r *Report) WriteJUnit(w io.Writer) error {
	s := junitSuite{Name: "bodytap replay " + r.Target}
	var total time.Duration
	for _, res := range r.Results {
		c := junitCase{
			Name:      res.Method + " " + res.URL,
			Classname: "bodytap.replay",
			Time:      seconds(res.Duration),
		}
		if res.NotCompared != "" {
			c.SystemOut = "not compared: " + res.NotCompared
		}
		total += res.Duration
		switch res.Outcome {
		case Changed:
			var b strings.Builder
			for _, d := range res.Diffs {
				fmt.Fprintln(&b, d.String())
			}
			c.Failure = &junitProblem{Message: fmt.Sprintf("%d differences from the recording %s", len(res.Diffs), res.ID), Text: b.String()}
			s.Failures++
		case Failed:
			c.Error = &junitProblem{Message: res.Reason}
			s.Errors++
		case Skipped, NotReplayable:
			c.Skipped = &junitProblem{Message: string(res.Outcome) + ": " + res.Reason}
			s.Skipped++
		}
		s.Cases = append(s.Cases, c)
	}
	s.Tests, s.Time = len(s.Cases), seconds(total)
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(junitSuites{Suites: []junitSuite{s}}); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

func seconds(d time.Duration) string { return fmt.Sprintf("%.3f", d.Seconds()) }
