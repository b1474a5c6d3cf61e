package sync

import (
	"slices"
	"strings"
	"testing"

	"github.com/tajo/terraform-provider-tajo/agent/config"
)

// TestTagListsReadOnlyWhenUsed: a contact with more than 10 tags costs a
// GET /contacts/{id}/tags only when a list rule or a mapping reads tags.
func TestTagListsReadOnlyWhenUsed(t *testing.T) {
	t.Parallel()
	tagRequests := func(e *env) int {
		n := 0
		for route, c := range e.sb.Intercom.Harness().Stats().ByRoute {
			if strings.HasSuffix(route, "/tags") && strings.Contains(route, "/contacts/") {
				n += c
			}
		}
		return n
	}
	used := newEnv(t, 1500) // its lists include tag:vip
	used.sync(PassOptions{})
	used.exact()
	if tagRequests(used) == 0 {
		t.Fatal("no contact of the dataset has more than 10 tags: the test cannot tell")
	}
	unused := newEnv(t, 1500)
	unused.bundle.Lists = slices.DeleteFunc(unused.bundle.Lists, func(l config.ListAssignment) bool { return strings.HasPrefix(l.Rule, "tag:") })
	delete(unused.setup.Lists, "tag:vip")
	unused.sync(PassOptions{})
	unused.exact()
	if n := tagRequests(unused); n != 0 {
		t.Errorf("%d tag list requests without a tag rule or mapping; want 0 (%d with tag:vip)", n, tagRequests(used))
	}
}
