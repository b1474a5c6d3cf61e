package contract

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func load(t *testing.T, api string) *Spec {
	t.Helper()
	s, err := Load(api)
	if errors.Is(err, ErrNoSpecs) {
		t.Skipf("skipping contract check: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestCheckCatchesDrift(t *testing.T) {
	t.Parallel()
	ic := load(t, Intercom)
	hdr := http.Header{"Content-Type": {"application/json"}}
	good := Exchange{Method: "GET", Path: "/tags", ReqHeader: http.Header{"Intercom-Version": {"2.11"}},
		Status: 200, RespHeader: hdr, RespBody: []byte(`{"type":"list","data":[{"type":"tag","id":"1","name":"vip","applied_at":null,"applied_by":null}]}`)}
	if err := ic.Check(t.Context(), good); err != nil {
		t.Fatalf("valid exchange rejected: %v", err)
	}
	bad := good
	bad.ReqHeader = http.Header{"Intercom-Version": {"9.99"}}
	if err := ic.Check(t.Context(), bad); err == nil {
		t.Error("an unknown Intercom-Version passed")
	}
	wrongShape := good
	wrongShape.RespBody = []byte(`{"type":"list","data":"nope"}`)
	if err := ic.Check(t.Context(), wrongShape); err == nil {
		t.Error("a response of the wrong shape passed")
	}
	if err := ic.Check(t.Context(), Exchange{Method: "GET", Path: "/no/such/thing", Status: 200}); err == nil || !strings.Contains(err.Error(), "not an operation") {
		t.Errorf("unknown operation: %v", err)
	}

	br := load(t, Brevo)
	q := url.Values{}
	add := Exchange{Method: "POST", Path: "/contacts/lists/35/contacts/add", Query: q,
		ReqHeader: http.Header{"Content-Type": {"application/json"}}, ReqBody: []byte(`{"extIds":["a","b"]}`),
		Status: 201, RespHeader: hdr, RespBody: []byte(`{"contacts":{"success":["a"],"failure":["b"]}}`)}
	if err := br.Check(t.Context(), add); err != nil {
		t.Fatalf("valid Brevo exchange rejected: %v", err)
	}
	tooMany := add
	tooMany.ReqBody = []byte(`{"extIds":[` + strings.Repeat(`"x",`, 150) + `"y"]}`)
	if err := br.Check(t.Context(), tooMany); err == nil {
		t.Error("151 ids in one list call passed (maxItems 150)")
	}
	batch := Exchange{Method: "POST", Path: "/events/batch", Status: 202}
	if err := br.Check(t.Context(), batch); err != nil {
		t.Errorf("documented-elsewhere operation rejected: %v", err)
	}
}
