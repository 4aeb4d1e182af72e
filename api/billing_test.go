package api

import (
	"bytes"
	"compress/gzip"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
)

func TestVerifySignature(t *testing.T) {
	body := []byte(`{"id":"evt_1"}`)
	now := time.Unix(1_800_000_000, 0)
	good := SignBillingEvent(body, "s3cret", now)
	if err := verifySignature(good, body, "s3cret", now.Add(4*time.Minute)); err != nil {
		t.Fatalf("a good signature within the tolerance: %v", err)
	}
	rotated := good + ",v1=" + "00ff"
	if err := verifySignature(rotated, body, "s3cret", now); err != nil {
		t.Fatalf("one good v1 among several: %v", err)
	}
	for name, tc := range map[string]struct {
		header string
		body   []byte
		at     time.Time
	}{
		"empty":        {"", body, now},
		"no timestamp": {"v1=abcd", body, now},
		"no v1":        {"t=1800000000", body, now},
		"other body":   {good, []byte(`{"id":"evt_2"}`), now},
		"other secret": {SignBillingEvent(body, "other", now), body, now},
		"stale":        {good, body, now.Add(6 * time.Minute)},
		"from future":  {good, body, now.Add(-6 * time.Minute)},
		"not hex":      {"t=1800000000,v1=zz", body, now},
		"junk":         {"garbage", body, now},
	} {
		if err := verifySignature(tc.header, tc.body, "s3cret", tc.at); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// TestWebhookSignsTheBytesReceived calls the webhook handler alone, with no
// middleware to refuse a compressed body: the signature and the decoder
// still read the bytes as received, never the body Fiber would inflate.
func TestWebhookSignsTheBytesReceived(t *testing.T) {
	const secret = "s3cret"
	s := &Server{cfg: Config{BillingSecret: secret}}
	app := fiber.New(fiber.Config{ErrorHandler: errorHandler(slog.New(slog.DiscardHandler))})
	app.Post("/", s.billingWebhook)

	// An event that fails validation (no id) once read: reaching that 400
	// means the body was inflated.
	var zipped bytes.Buffer
	zw := gzip.NewWriter(&zipped)
	_, _ = zw.Write([]byte(`{"id":""}`))
	_ = zw.Close()
	post := func(signedOver []byte) (int, string) {
		t.Helper()
		req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(zipped.Bytes()))
		req.Header.Set("Content-Encoding", "gzip")
		req.Header.Set(headerSignature, SignBillingEvent(signedOver, secret, time.Now()))
		resp, err := app.Test(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(raw)
	}
	if status, raw := post([]byte(`{"id":""}`)); status != http.StatusUnauthorized {
		t.Errorf("signed over the inflated body: %d, want 401: %s", status, raw)
	}
	if status, raw := post(zipped.Bytes()); status != http.StatusBadRequest || !strings.Contains(raw, `"field":"body"`) {
		t.Errorf("signed over the bytes sent: %d, want 400 for a body that is not JSON: %s", status, raw)
	}
}
