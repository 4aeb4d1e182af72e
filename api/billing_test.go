package api

import (
	"testing"
	"time"
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
