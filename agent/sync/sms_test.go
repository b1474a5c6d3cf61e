package sync

import (
	"sort"
	"testing"

	"github.com/tajo/terraform-provider-tajo/agent/sandbox/dataset"
)

// TestSharedPhoneNumbers: a number is a Brevo identifier, so of two
// contacts sharing one, one holds it and the other is written without it
// (never merged into the holder); when the holder lets it go, the other
// takes it with its next change.
func TestSharedPhoneNumbers(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 200)
	e.sync(PassOptions{})
	e.exact()
	ic := e.sb.Intercom
	var ids []string
	for _, id := range ic.ContactIDs() {
		if c, _ := ic.Contact(id); c.Email != "" {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	a, c := ids[3], ids[9]
	const x, y = "+14155550101", "+14155550102"
	setPhone := func(id, number string) {
		t.Helper()
		if err := ic.UpdateContact(id, func(ct *dataset.Contact) { ct.Phone, ct.FormattedPhone = number, number }); err != nil {
			t.Fatal(err)
		}
	}
	setPhone(c, x)
	setPhone(a, x)
	eng := e.sync(PassOptions{})
	e.exact()
	if n := eng.Stats().SMSConflicts; n != 1 {
		t.Errorf("SMS conflicts %d, want 1", n)
	}
	holder := func(number string) string {
		t.Helper()
		l, err := e.st.GetLinks(t.Context(), "intercom", kindSMS, []string{number})
		if err != nil {
			t.Fatal(err)
		}
		return string(l[number].Data)
	}
	if h := holder(x); h != a {
		t.Fatalf("%s held by %q, want %s", x, h, a)
	}
	// The other contact only joins a list (its data is not written): the
	// number stays with its holder.
	if err := ic.TagContact(c, "vip"); err != nil {
		t.Fatal(err)
	}
	e.sync(PassOptions{})
	e.exact()
	if h := holder(x); h != a {
		t.Fatalf("after a list-only change of %s, %s held by %q, want %s", c, x, h, a)
	}

	// The holder moves to another number; the other contact, changed in
	// the same round, takes the first one.
	setPhone(a, y)
	if err := ic.UpdateContact(c, func(ct *dataset.Contact) { ct.Name = "Renamed Contact" }); err != nil {
		t.Fatal(err)
	}
	e.sync(PassOptions{})
	e.exact()
	if h, h2 := holder(x), holder(y); h != c || h2 != a {
		t.Errorf("holders: %s by %q, %s by %q; want %s and %s", x, h, y, h2, c, a)
	}

	// A deleted holder lets its number go.
	if err := ic.DeleteContact(c); err != nil {
		t.Fatal(err)
	}
	e.sync(PassOptions{Full: true})
	e.exact()
	if l, _ := e.st.GetLinks(t.Context(), "intercom", kindSMS, []string{x}); len(l) != 0 {
		t.Errorf("%s still held by %s after its contact was deleted", x, l[x].Data)
	}
}
