package webhook

import (
	"fmt"
	"strings"
	"testing"

	"github.com/tajo/terraform-provider-tajo/agent/sandbox/fakeintercom"
)

// BenchmarkVerifyIntercom checks the X-Hub-Signature of a contact
// notification of typical size (about 3 KB: Intercom renders the whole
// contact) and of a large one.
func BenchmarkVerifyIntercom(b *testing.B) {
	for _, size := range []int{3 << 10, 64 << 10} {
		attrs := strings.Repeat(`"custom_attribute":"a value of some length",`, size/44)
		body := notification("notif_1", "contact.user.updated", `{"type":"contact","id":"c1",`+attrs+`"role":"user"}`)
		sig := fakeintercom.Sign(secret, body)
		b.Run(fmt.Sprintf("%dKiB", size>>10), func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				if err := VerifyIntercom(secret, body, sig); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
