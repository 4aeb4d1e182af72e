package api_test

// Fuzz targets for the transport of a request rather than its JSON: the
// Content-Encoding header, Content-Length and Transfer-Encoding, and the
// header block itself (duplicates, odd casing, huge or non-ASCII values),
// under the same checks as fuzz_test.go's targets.

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/talkturo/phonenumbers/api"
)

// FuzzContentEncoding sends body, gzipped when compress is set, with one
// Content-Encoding line per line of contentEncoding, to search and to the
// billing webhook (signed over the bytes sent). Beyond the checks of every
// answer: a coding other than identity is a 415 unsupported_encoding, and
// identity (or none) never is.
func FuzzContentEncoding(f *testing.F) {
	fe := newFuzzEnv(f)
	f.Fuzz(func(t *testing.T, contentEncoding string, compress bool, body []byte) {
		b := []byte(fe.fill(string(body)))
		if compress {
			var zipped bytes.Buffer
			zw := gzip.NewWriter(&zipped)
			_, _ = zw.Write(b)
			_ = zw.Close()
			b = zipped.Bytes()
		}
		var lines []string
		for _, line := range strings.Split(contentEncoding, "\n") {
			lines = append(lines, headerValue(line))
		}
		refused := false
		for _, line := range lines {
			for _, coding := range strings.Split(line, ",") {
				if c := strings.Trim(coding, " \t"); c != "" && !strings.EqualFold(c, "identity") {
					refused = true
				}
			}
		}
		for _, r := range []fuzzRequest{
			{method: http.MethodPost, path: "/api/phone-numbers/search", body: b},
			{method: http.MethodPost, path: "/api/billing/webhook", body: b,
				header: map[string]string{"Talkturo-Signature": api.SignBillingEvent(b, fuzzBillingSecret, time.Now())}},
		} {
			r.headers = map[string][]string{"Content-Encoding": lines}
			status, code := fe.do(t, r)
			switch {
			case status == 0:
				// No answer to check (a head over the read buffer).
			case refused && (status != http.StatusUnsupportedMediaType || code != "unsupported_encoding"):
				t.Fatalf("%s with Content-Encoding %q: %d %s, want 415 unsupported_encoding", r.path, lines, status, code)
			case !refused && status == http.StatusUnsupportedMediaType:
				t.Fatalf("%s with Content-Encoding %q: 415, want the body read as it is", r.path, lines)
			}
		}
	})
}

// rawRoutes are the requests FuzzRawRequest chooses from.
var rawRoutes = []struct{ method, path string }{
	{http.MethodPost, "/api/phone-numbers/search"},
	{http.MethodPost, "/api/phone-numbers/purchase"},
	{http.MethodPost, "/api/billing/webhook"},
	{http.MethodPost, "/api/assistants"},
	{http.MethodPut, "/api/phone-numbers/purchase/{active}/assistant"},
	{http.MethodGet, "/api/assistants?teamId={team}"},
	{http.MethodGet, "/healthz"},
}

// FuzzRawRequest writes a request by hand on a connection of its own, so
// that what net/http would never send is sent: header lines as the
// fuzzer wrote them (one per line of head: duplicates, any casing, any
// byte but CR and LF, any length), a Content-Length that need not match
// the body (contentLength as is; empty for the body's length; "none" for
// no Content-Length), chunked or other transfer codings. route picks one
// of rawRoutes. Authorization (Bearer {token}) and Content-Type
// (application/json) are sent unless head has them; {sig} in head is the
// webhook's signature of the body. The answer, when there is one, gets the
// checks of every answer; no answer at all is allowed only where HTTP
// leaves the server none to give: a head over its read buffer, or a body
// that ends before the length it announced.
func FuzzRawRequest(f *testing.F) {
	fe := newFuzzEnv(f)
	f.Fuzz(func(t *testing.T, route uint8, head, contentLength string, body []byte) {
		rt := rawRoutes[int(route)%len(rawRoutes)]
		path := fe.fill(rt.path)
		b := []byte(fe.fill(string(body)))

		// seen is the request as the API should read it, for the checks.
		seen, err := http.NewRequest(rt.method, fe.base+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		var msg bytes.Buffer
		msg.WriteString(rt.method + " " + path + " HTTP/1.1\r\nHost: fuzz\r\n")
		has := map[string]bool{}
		for _, line := range strings.Split(fe.fill(head), "\n") {
			line = strings.Map(func(r rune) rune {
				if r == '\r' {
					return -1
				}
				return r
			}, line)
			if line == "" {
				continue // an empty line would end the head
			}
			msg.WriteString(line + "\r\n")
			if k, v, ok := strings.Cut(line, ":"); ok {
				has[strings.ToLower(strings.TrimSpace(k))] = true
				seen.Header.Add(strings.TrimSpace(k), strings.Trim(v, " \t"))
			}
		}
		if !has["authorization"] {
			msg.WriteString("Authorization: Bearer " + fe.acct.Token + "\r\n")
			seen.Header.Set("Authorization", "Bearer "+fe.acct.Token)
		}
		if !has["content-type"] {
			msg.WriteString("Content-Type: application/json\r\n")
			seen.Header.Set("Content-Type", "application/json")
		}
		// announced is the body length the request announces (-1: none or
		// not a number).
		announced := int64(-1)
		switch contentLength = strings.Map(func(r rune) rune {
			if r == '\r' || r == '\n' {
				return -1
			}
			return r
		}, contentLength); contentLength {
		case "none":
		case "":
			if !has["content-length"] && !has["transfer-encoding"] {
				msg.WriteString("Content-Length: " + strconv.Itoa(len(b)) + "\r\n")
				announced = int64(len(b))
			}
		default:
			msg.WriteString("Content-Length: " + contentLength + "\r\n")
			if n, err := strconv.ParseInt(strings.TrimSpace(contentLength), 10, 64); err == nil {
				announced = n
			}
		}
		// Ours is the last Connection line, so the server closes after one
		// answer whatever the fuzzer wrote: the rest of a body longer than
		// announced is not read as a second request.
		msg.WriteString("Connection: close\r\n\r\n")
		reqBody := b
		if announced >= 0 && announced < int64(len(b)) {
			reqBody = b[:announced]
		}
		for _, te := range seen.Header.Values("Transfer-Encoding") {
			// fasthttp reads a body under any transfer coding but identity
			// as chunked.
			if te != "identity" {
				reqBody, _ = io.ReadAll(httputil.NewChunkedReader(bytes.NewReader(b)))
				break
			}
		}
		// The signature is of the body the API reads.
		now := strconv.FormatInt(time.Now().Unix(), 10)
		mac := hmac.New(sha256.New, []byte(fuzzBillingSecret))
		mac.Write([]byte(now + "."))
		mac.Write(reqBody)
		sig := "t=" + now + ",v1=" + hex.EncodeToString(mac.Sum(nil))
		headText := strings.ReplaceAll(msg.String(), "{sig}", sig)
		for _, vs := range seen.Header {
			for i := range vs {
				vs[i] = strings.ReplaceAll(vs[i], "{sig}", sig)
			}
		}
		headLen := len(headText)
		msg.Reset()
		msg.WriteString(headText)
		msg.Write(b)
		what := rt.method + " " + path + " " + strconv.Quote(msg.String())

		conn, err := net.DialTimeout("tcp", fe.srv.Addr(), 2*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		_ = conn.SetDeadline(time.Now().Add(fe.http.Timeout))
		_, werr := conn.Write(msg.Bytes())
		// The server sees the end of what was sent instead of waiting for
		// the bytes a wrong Content-Length promised.
		_ = conn.(*net.TCPConn).CloseWrite()
		resp, err := readFinalResponse(bufio.NewReader(conn))
		if err != nil {
			tooLarge := headLen+512 > fe.srv.App().Config().ReadBufferSize
			short := announced > int64(len(b)) || (announced < 0 && (has["transfer-encoding"] || contentLength != ""))
			if (tooLarge || short) && (werr != nil || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
				errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)) {
				return
			}
			t.Fatalf("%s: no answer: %v (writing: %v)\nserver log:\n%s", what, err, werr, fe.logs.Drain())
		}
		defer resp.Body.Close()
		raw, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatalf("%s: reading the answer: %v", what, err)
		}
		if status, _ := fe.check(t, seen, reqBody, resp, raw, what); status >= 400 {
			// What the request carried as a secret is never sent back.
			for _, secret := range []string{fe.acct.Token, sig} {
				if strings.Contains(string(raw), secret) {
					t.Fatalf("%s: answer %d quotes the request's token or signature: %s", what, status, raw)
				}
			}
		}
	})
}

// readFinalResponse reads the answer after any 1xx (an Expect:
// 100-continue in the head gets a 100 Continue first).
func readFinalResponse(br *bufio.Reader) (*http.Response, error) {
	for {
		resp, err := http.ReadResponse(br, nil)
		if err != nil || resp.StatusCode >= 200 {
			return resp, err
		}
		_ = resp.Body.Close()
	}
}
