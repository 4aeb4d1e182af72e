package api_test

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/talkturo/phonenumbers/api"
)

const encodingTestSecret = "whsec_encoding_test"

// TestContentEncodingIsRefused sends bodies under every spelling of a
// content coding: each is refused with 415 before authentication, the
// webhook's signature or routing looks at it; identity, in any case and
// list, is a plain body.
func TestContentEncodingIsRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withConfig(api.Config{BillingSecret: encodingTestSecret}))
	acct := e.newAccount("encoding@example.com")
	event := `{"id":"evt_enc","type":"subscription.canceled","teamId":"team_unknown","occurredAt":"2026-11-27T12:00:00Z"}`
	signed := func() map[string]string {
		return map[string]string{"Talkturo-Signature": api.SignBillingEvent([]byte(event), encodingTestSecret, time.Now())}
	}

	refused := map[string]http.Header{
		"gzip":                    {"Content-Encoding": {"gzip"}},
		"upper case":              {"Content-Encoding": {"GZIP"}},
		"deflate":                 {"Content-Encoding": {"deflate"}},
		"brotli":                  {"Content-Encoding": {"br"}},
		"unknown coding":          {"Content-Encoding": {"x-talkturo"}},
		"gzip then identity":      {"Content-Encoding": {"gzip, identity"}},
		"identity then gzip":      {"Content-Encoding": {"identity, gzip"}},
		"empty elements":          {"Content-Encoding": {" ,, gzip ,"}},
		"with a parameter":        {"Content-Encoding": {"identity;q=1"}},
		"second line is gzip":     {"Content-Encoding": {"identity", "gzip"}},
		"first line is gzip":      {"Content-Encoding": {"gzip", "identity"}},
		"tab-separated elements":  {"Content-Encoding": {"identity,\tdeflate"}},
		"identity with a suffix":  {"Content-Encoding": {"identityx"}},
		"gzip among many entries": {"Content-Encoding": {"identity, identity, identity, gzip"}},
	}
	for name, h := range refused {
		for _, r := range []request{
			{method: http.MethodPost, path: searchPath, token: acct.Token, body: seedSearch, headers: h},
			// No token: the 415 comes before authentication.
			{method: http.MethodPost, path: searchPath, body: seedSearch, headers: h},
			{method: http.MethodPost, path: "/api/billing/webhook", body: event, header: signed(), headers: h},
			// A wrong signature: the 415 comes before the signature check.
			{method: http.MethodPost, path: "/api/billing/webhook", body: event, header: map[string]string{"Talkturo-Signature": "t=1,v1=00"}, headers: h},
			{method: http.MethodPost, path: "/api/assistants", token: acct.Token, body: `{"teamId":"` + acct.TeamID + `","name":"A"}`, headers: h},
			{method: http.MethodGet, path: "/healthz", headers: h},
			{method: http.MethodPost, path: "/api/no-such-route", body: "{}", headers: h},
		} {
			resp := e.do(r)
			if resp.status != http.StatusUnsupportedMediaType {
				t.Errorf("%s: %s %s answered %d, want 415: %s", name, r.method, r.path, resp.status, resp.raw)
				continue
			}
			wantError(t, resp, http.StatusUnsupportedMediaType, "unsupported_encoding", "Content-Encoding")
			if got := resp.header.Get("Accept-Encoding"); got != "identity" {
				t.Errorf("%s: Accept-Encoding %q, want identity", name, got)
			}
		}
	}

	accepted := map[string]http.Header{
		"absent":         nil,
		"identity":       {"Content-Encoding": {"identity"}},
		"mixed case":     {"Content-Encoding": {"IdEnTiTy"}},
		"empty":          {"Content-Encoding": {""}},
		"identity list":  {"Content-Encoding": {" , identity,, IDENTITY "}},
		"identity twice": {"Content-Encoding": {"identity", "identity"}},
		"other header":   {"Content-Encoding-X": {"gzip"}, "Accept-Encoding": {"gzip"}},
	}
	for name, h := range accepted {
		r := e.do(request{method: http.MethodPost, path: searchPath, token: acct.Token, body: seedSearch, headers: h})
		if r.status != http.StatusOK {
			t.Errorf("%s: search answered %d, want 200: %s", name, r.status, r.raw)
		}
		// The body reaches the signature check and the decoder as sent:
		// the event is read, and its team is unknown.
		r = e.do(request{method: http.MethodPost, path: "/api/billing/webhook", body: event, header: signed(), headers: h})
		if r.status != http.StatusNotFound {
			t.Errorf("%s: webhook answered %d, want 404 for the unknown team: %s", name, r.status, r.raw)
		}
	}
}

// bombInflated is what the decompression bomb inflates to: 1 GB of zeros.
const bombInflated = 1_000_000_000

// gzipBomb returns a gzip stream of bombInflated zeros, under the 1 MiB
// body limit. It is 100 gzip members of 10 MB each (a gzip file is a
// series of members, RFC 1952, and every reader inflates them all), so it
// is compressed once, 10 MB at a time, never holding the zeros it stands
// for.
func gzipBomb(t *testing.T) []byte {
	t.Helper()
	const member = 10_000_000
	var one bytes.Buffer
	zw, err := gzip.NewWriterLevel(&one, gzip.BestCompression)
	if err != nil {
		t.Fatal(err)
	}
	zeros := make([]byte, 1<<20)
	for left := member; left > 0; left -= len(zeros) {
		if _, err := zw.Write(zeros[:min(left, len(zeros))]); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	// Check the member inflates to what it stands for, reading it as a
	// stream too.
	zr, err := gzip.NewReader(bytes.NewReader(one.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if n, err := io.Copy(io.Discard, zr); err != nil || n != member {
		t.Fatalf("one member inflates to %d bytes (%v), want %d", n, err, member)
	}
	bomb := bytes.Repeat(one.Bytes(), bombInflated/member)
	if len(bomb) > 1<<20 {
		t.Fatalf("the bomb is %d bytes, over the 1 MiB body limit", len(bomb))
	}
	return bomb
}

// TestDecompressionBombIsRefused posts a 1 MiB gzip stream that inflates
// to 1 GB to the billing webhook (signed over the bytes sent, so only the
// encoding stops it) and to search, and the same bytes under
// Transfer-Encoding: gzip, chunked: each is a 4xx, and the process
// allocates well under 100 MB meanwhile. Without the refusal, Fiber
// inflates the whole gigabyte on c.Body(). Not parallel: MemStats is the
// process's.
func TestDecompressionBombIsRefused(t *testing.T) {
	e := newEnv(t, withConfig(api.Config{BillingSecret: encodingTestSecret}))
	acct := e.newAccount("bomb@example.com")
	bomb := gzipBomb(t)
	t.Logf("bomb: %d bytes of gzip, inflating to %d bytes", len(bomb), bombInflated)
	// The client's copy of the body: one string for every request.
	body := string(bomb)
	gz := map[string]string{"Content-Encoding": "gzip"}

	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	rssBefore := procStatus("VmRSS")

	sig := api.SignBillingEvent(bomb, encodingTestSecret, time.Now())
	r := e.do(request{method: http.MethodPost, path: "/api/billing/webhook", body: body,
		header: map[string]string{"Content-Encoding": "gzip", "Talkturo-Signature": sig}})
	wantError(t, r, http.StatusUnsupportedMediaType, "unsupported_encoding", "Content-Encoding")
	r = e.do(request{method: http.MethodPost, path: "/api/billing/webhook", body: body, header: gz})
	wantError(t, r, http.StatusUnsupportedMediaType, "unsupported_encoding", "Content-Encoding")
	r = e.do(request{method: http.MethodPost, path: searchPath, token: acct.Token, body: body, header: gz})
	wantError(t, r, http.StatusUnsupportedMediaType, "unsupported_encoding", "Content-Encoding")

	// A transfer coding is not a content coding: fasthttp reads any as
	// chunked and never inflates it, so the signed bytes reach the
	// decoder as they are, and are not JSON.
	r = e.rawChunked(t, "/api/billing/webhook", "gzip, chunked", bomb, map[string]string{"Talkturo-Signature": sig})
	wantError(t, r, http.StatusBadRequest, "invalid_request", "body")
	r = e.rawChunked(t, searchPath, "gzip, chunked", bomb, map[string]string{"Authorization": "Bearer " + acct.Token})
	wantError(t, r, http.StatusBadRequest, "invalid_request", "body")

	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	const mb = 1 << 20
	allocated := after.TotalAlloc - before.TotalAlloc
	t.Logf("during 5 bombs: allocated %.1f MiB (TotalAlloc), heap in use %+.1f MiB (HeapAlloc), memory from the OS %+.1f MiB (Sys), RSS %s -> %s",
		float64(allocated)/mb, (float64(after.HeapAlloc)-float64(before.HeapAlloc))/mb,
		(float64(after.Sys)-float64(before.Sys))/mb, rssBefore, procStatus("VmRSS"))
	if allocated > 100*mb {
		t.Errorf("the process allocated %d MiB while refusing the bombs, want well under 100 MiB", allocated/mb)
	}
	if grown := int64(after.Sys) - int64(before.Sys); grown > 100*mb {
		t.Errorf("the process took %d MiB more from the OS while refusing the bombs, want well under 100 MiB", grown/mb)
	}
}

// rawChunked sends body to path in chunks of 64 KiB under the given
// Transfer-Encoding, over a connection of its own (net/http only sends
// chunked alone), and reads the answer as do does.
func (e *env) rawChunked(t *testing.T, path, transferEncoding string, body []byte, header map[string]string) response {
	t.Helper()
	conn, err := net.DialTimeout("tcp", e.srv.Addr(), 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	w := bufio.NewWriter(conn)
	fmt.Fprintf(w, "POST %s HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nTransfer-Encoding: %s\r\nConnection: close\r\n", path, transferEncoding)
	for k, v := range header {
		fmt.Fprintf(w, "%s: %s\r\n", k, v)
	}
	w.WriteString("\r\n")
	for rest := body; len(rest) > 0; {
		n := min(len(rest), 64<<10)
		fmt.Fprintf(w, "%x\r\n%s\r\n", n, rest[:n])
		rest = rest[n:]
	}
	w.WriteString("0\r\n\r\n")
	if err := w.Flush(); err != nil {
		t.Fatalf("sending %s: %v", path, err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("reading the answer of %s: %v", path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	r := response{status: resp.StatusCode, header: resp.Header, raw: raw}
	e.checkInvariants(request{method: http.MethodPost, path: path}, r)
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&r.body); err != nil {
		t.Fatalf("%s: answer %d is not JSON: %s", path, resp.StatusCode, raw)
	}
	return r
}

// procStatus is a line of /proc/self/status (such as VmRSS), for the
// test's log; "?" where there is none.
func procStatus(key string) string {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return "?"
	}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && k == key {
			return strings.TrimSpace(v)
		}
	}
	return "?"
}
