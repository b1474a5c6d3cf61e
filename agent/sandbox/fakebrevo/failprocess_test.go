package fakebrevo

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// TestFailProcesses: a process FailProcesses picks ends "failed" without
// applying a row, its notifyUrl hears "failed", and the next one runs.
func TestFailProcesses(t *testing.T) {
	t.Parallel()
	notified := make(chan map[string]any, 4)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var b map[string]any
		raw, _ := io.ReadAll(r.Body)
		_ = json.Unmarshal(raw, &b)
		notified <- b
	}))
	t.Cleanup(hook.Close)
	ts := start(t, WithLists(List{ID: 35, Name: "All", FolderID: 1}))
	ts.FailProcesses("IMPORTUSER", 1)
	row := func(n int) map[string]any {
		return map[string]any{"listIds": []int{35}, "notifyUrl": hook.URL, "jsonBody": []any{
			map[string]any{"email": fmt.Sprintf("p%d@example.com", n), "attributes": map[string]any{"EXT_ID": fmt.Sprintf("x-%d", n)}}}}
	}
	first := int64(ts.must(202, "POST", "/contacts/import", row(1))["processId"].(float64))
	second := int64(ts.must(202, "POST", "/contacts/import", row(2))["processId"].(float64))
	if err := ts.WaitIdle(t.Context()); err != nil {
		t.Fatal(err)
	}
	for id, want := range map[int64]string{first: "failed", second: "completed"} {
		if got := ts.must(200, "GET", fmt.Sprintf("/processes/%d", id), nil)["status"]; got != want {
			t.Errorf("process %d is %v, want %s", id, got, want)
		}
	}
	if _, ok := ts.ContactByExtID("x-1"); ok {
		t.Error("the failed import applied its row")
	}
	if _, ok := ts.ContactByExtID("x-2"); !ok {
		t.Error("the import after the failure was not applied")
	}
	got := map[string]bool{}
	for range 2 {
		select {
		case b := <-notified:
			got[fmt.Sprint(b["status"])] = true
		case <-time.After(5 * time.Second):
			t.Fatal("notifyUrl not called")
		}
	}
	if !got["failed"] || !got["completed"] {
		t.Errorf("notifications %v, want one failed and one completed", got)
	}
}
