package config

import (
	"fmt"
	"strings"
)

// Problem is one thing wrong with a declaration: where it is (an attribute
// path such as "intercom.region" or "topics[2]") and what to do about it.
type Problem struct {
	Path    string
	Message string
}

func (p Problem) String() string {
	if p.Path == "" {
		return p.Message
	}
	return p.Path + ": " + p.Message
}

// Problems is the error Validate returns: every problem found, in attribute
// order, so a user can fix them all in one go.
type Problems []Problem

func (ps Problems) Error() string {
	switch len(ps) {
	case 0:
		return "no problems"
	case 1:
		return ps[0].String()
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d problems:", len(ps))
	for _, p := range ps {
		b.WriteString("\n  - ")
		b.WriteString(p.String())
	}
	return b.String()
}

// Err returns ps as an error, or nil when there is nothing wrong.
func (ps Problems) Err() error {
	if len(ps) == 0 {
		return nil
	}
	return ps
}

// problems collects Problems under a path prefix.
type problems struct {
	list Problems
}

func (p *problems) add(path, format string, args ...any) {
	p.list = append(p.list, Problem{Path: path, Message: fmt.Sprintf(format, args...)})
}

// check records err (when non-nil) at path.
func (p *problems) check(path string, err error) {
	if err != nil {
		p.list = append(p.list, Problem{Path: path, Message: err.Error()})
	}
}

// oneOf reports whether v is in allowed and, when it is not, a message that
// names the allowed values.
func oneOf(v string, allowed ...string) error {
	for _, a := range allowed {
		if v == a {
			return nil
		}
	}
	return fmt.Errorf("%q is not allowed; use one of %s", v, quoteList(allowed))
}

func quoteList(vs []string) string {
	q := make([]string, len(vs))
	for i, v := range vs {
		q[i] = fmt.Sprintf("%q", v)
	}
	return strings.Join(q, ", ")
}
