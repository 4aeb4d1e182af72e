package api

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/talkturo/phonenumbers/domain"
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

// TestBillingEventDatedInTheFutureIsRefused: an occurredAt further ahead of
// the server's clock than domain.BillingEventMaxAhead is a 400 naming the
// field; one within it, or in the past, is accepted.
func TestBillingEventDatedInTheFutureIsRefused(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	req := func(at time.Time) billingEventRequest {
		return billingEventRequest{ID: "evt_1", Type: "subscription.activated", TeamID: "team_1", Plan: "growth", OccurredAt: at.Format(time.RFC3339)}
	}
	for name, at := range map[string]time.Time{
		"tomorrow":                  now.Add(24 * time.Hour),
		"just past the tolerance":   now.Add(domain.BillingEventMaxAhead + time.Second),
		"tomorrow in another zone":  now.Add(24 * time.Hour).In(time.FixedZone("UTC-8", -8*3600)),
		"tolerance plus one minute": now.Add(domain.BillingEventMaxAhead + time.Minute),
	} {
		_, err := req(at).validate(now)
		var de *domain.Error
		if !errors.As(err, &de) || de.Code != domain.CodeInvalidRequest || de.Field != "occurredAt" {
			t.Errorf("%s (%s): %v, want invalid_request on occurredAt", name, at.Format(time.RFC3339), err)
		}
	}
	for name, at := range map[string]time.Time{
		"now":                  now,
		"within the tolerance": now.Add(domain.BillingEventMaxAhead),
		"yesterday":            now.Add(-24 * time.Hour),
		"a year ago":           now.AddDate(-1, 0, 0),
	} {
		if ev, err := req(at).validate(now); err != nil || !ev.OccurredAt.Equal(at) {
			t.Errorf("%s: %+v %v, want accepted", name, ev, err)
		}
	}
}
