package api_test

import (
	"net/http"
	"strings"
	"testing"
)

// TestNoInternalCodeIsAnswered: an error with a code the registry keeps
// internal is answered with the public code it stands as, and that code's
// status; one that stands as internal_error, or a code nobody registered,
// is a 500 whose message says nothing of ours.
func TestNoInternalCodeIsAnswered(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withWorkflows(scriptedWorkflows{}))
	acct := e.newAccount("internal-codes@example.com")
	for _, tc := range []struct {
		number, code, message string
		status                int
	}{
		{numberRefused, "release_blocked", "Telnyx refused to release the number.", http.StatusConflict},
		{numberIDTaken, "internal_error", "Something went wrong on our side; it has been logged.", http.StatusInternalServerError},
		{numberUnregistered, "internal_error", "Something went wrong on our side; it has been logged.", http.StatusInternalServerError},
	} {
		r := e.do(request{method: http.MethodPost, path: purchasePath, token: acct.Token,
			body: `{"phoneNumber": "` + tc.number + `", "teamId": "` + acct.TeamID + `"}`})
		if got := wantError(t, r, tc.status, tc.code, ""); got["message"] != tc.message {
			t.Errorf("%s: message %q, want %q", tc.number, got["message"], tc.message)
		}
		if strings.Contains(string(r.raw), "pn_x") || strings.Contains(string(r.raw), "made_up_code") {
			t.Errorf("%s: the answer shows what is ours: %s", tc.number, r.raw)
		}
	}
}
