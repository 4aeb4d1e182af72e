package config

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestLoadDefaults(t *testing.T) {
	c, err := Load(map[string]string{})
	if err != nil {
		t.Fatal(err)
	}
	if c.TrialDuration != 120*time.Hour || c.PurchaseWait != 20*time.Second || c.HTTPAddr != "127.0.0.1:8080" || c.DataDir != ".data" {
		t.Fatalf("unexpected defaults: %+v", c)
	}
	limits := map[string]int{}
	for _, p := range c.Plans {
		limits[string(p.Name)] = p.MaxNumbers
	}
	if limits["free"] != 1 || limits["starter"] != 3 || limits["growth"] != 10 || limits["scale"] != 50 {
		t.Fatalf("plan limits = %v", limits)
	}
}

func TestLoadOverrides(t *testing.T) {
	c, err := Load(map[string]string{"TRIAL_DURATION": "30s", "PLAN_LIMITS": "growth=12"})
	if err != nil {
		t.Fatal(err)
	}
	if c.TrialDuration != 30*time.Second {
		t.Fatalf("TrialDuration = %v", c.TrialDuration)
	}
	for _, p := range c.Plans {
		if p.Name == "growth" && p.MaxNumbers != 12 {
			t.Fatalf("growth = %d", p.MaxNumbers)
		}
		if p.Name == "starter" && p.MaxNumbers != 3 {
			t.Fatalf("starter = %d", p.MaxNumbers)
		}
	}
}

func TestBadValuesNameTheVariable(t *testing.T) {
	for _, tc := range []struct{ key, value string }{
		{"TRIAL_DURATION", "five days"},
		{"TRIAL_DURATION", "-1s"},
		{"HTTP_ADDR", "8080"},
		{"DATABASE_URL", "mysql://x"},
		{"TELNYX_BASE_URL", "ftp://x"},
		{"PLAN_LIMITS", "gold=3"},
		{"PLAN_LIMITS", "free=3"},
		{"LOG_LEVEL", "loud"},
		{"TEMPORAL_UI_PORT", "abc"},
	} {
		_, err := Load(map[string]string{tc.key: tc.value})
		var ce *Error
		if !errors.As(err, &ce) || ce.Var != tc.key {
			t.Errorf("%s=%q: error %v does not name the variable", tc.key, tc.value, err)
			continue
		}
		if strings.Count(err.Error(), ".") < 1 || !strings.HasPrefix(err.Error(), tc.key+" ") {
			t.Errorf("%s=%q: error %q is not one sentence starting with the variable", tc.key, tc.value, err)
		}
	}
}
