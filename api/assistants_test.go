package api_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/talkturo/phonenumbers/domain"
)

const assistantsPath = "/api/assistants"

func createAssistantBody(teamID, name string) string {
	b, _ := json.Marshal(map[string]string{"teamId": teamID, "name": name})
	return string(b)
}

func listPath(teamID string) string {
	return assistantsPath + "?teamId=" + url.QueryEscape(teamID)
}

// assistantOf checks the shape of an assistant object and returns it.
func assistantOf(t *testing.T, v any) map[string]any {
	t.Helper()
	wantKeys(t, "assistant", v, "id", "teamId", "name", "created_at")
	return v.(map[string]any)
}

func TestAssistantsCreateAndList(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	acct := e.newAccount("assistants@example.com")

	// A new team has none: an empty array, not null.
	r := e.do(request{method: http.MethodGet, path: listPath(acct.TeamID), token: acct.Token})
	if r.status != http.StatusOK {
		t.Fatalf("list: %d %s", r.status, r.raw)
	}
	wantKeys(t, "list response", r.body, "success", "assistants", "count")
	if !strings.Contains(string(r.raw), `"assistants":[]`) || intOf(t, r.body["count"]) != 0 {
		t.Errorf("an empty list is not [] with count 0: %s", r.raw)
	}

	before := time.Now().Add(-time.Minute)
	var created []map[string]any
	for _, name := range []string{"  Sales Agent  ", "Support", "Réception 日本"} {
		r := e.do(request{method: http.MethodPost, path: assistantsPath, token: acct.Token, body: createAssistantBody(acct.TeamID, name)})
		if r.status != http.StatusCreated {
			t.Fatalf("create %q: %d %s", name, r.status, r.raw)
		}
		wantKeys(t, "create response", r.body, "success", "assistant")
		a := assistantOf(t, r.body["assistant"])
		if id, _ := a["id"].(string); !strings.HasPrefix(id, domain.PrefixAssistant+"_") {
			t.Errorf("id %v, want %s_…", a["id"], domain.PrefixAssistant)
		}
		if a["teamId"] != acct.TeamID {
			t.Errorf("teamId %v, want %s", a["teamId"], acct.TeamID)
		}
		if a["name"] != strings.TrimSpace(name) {
			t.Errorf("name %q, want it trimmed to %q", a["name"], strings.TrimSpace(name))
		}
		at, err := time.Parse(time.RFC3339Nano, fmt.Sprint(a["created_at"]))
		if err != nil || at.Before(before) || at.After(time.Now().Add(time.Minute)) {
			t.Errorf("created_at %v is not a recent ISO 8601 time (%v)", a["created_at"], err)
		}
		if !strings.HasSuffix(fmt.Sprint(a["created_at"]), "Z") {
			t.Errorf("created_at %v is not in UTC", a["created_at"])
		}
		created = append(created, a)
	}

	r = e.do(request{method: http.MethodGet, path: listPath(acct.TeamID), token: acct.Token})
	if r.status != http.StatusOK {
		t.Fatalf("list: %d %s", r.status, r.raw)
	}
	list, _ := r.body["assistants"].([]any)
	if intOf(t, r.body["count"]) != len(created) || len(list) != len(created) {
		t.Fatalf("list has %d (count %v), want %d: %s", len(list), r.body["count"], len(created), r.raw)
	}
	for i, v := range list {
		if got := assistantOf(t, v); !reflect.DeepEqual(got, created[i]) {
			t.Errorf("list[%d] = %v, want %v (as created, in creation order)", i, got, created[i])
		}
	}
}

func TestAssistantsValidation(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	acct := e.newAccount("assistant-validation@example.com")
	team := acct.TeamID
	cases := []struct{ name, body, field string }{
		{"no teamId", `{"name": "Sales"}`, "teamId"},
		{"empty teamId", `{"teamId": "", "name": "Sales"}`, "teamId"},
		{"blank teamId", `{"teamId": "   ", "name": "Sales"}`, "teamId"},
		{"teamId a number", `{"teamId": 7, "name": "Sales"}`, "teamId"},
		{"no name", `{"teamId": "` + team + `"}`, "name"},
		{"empty name", createAssistantBody(team, ""), "name"},
		{"blank name", createAssistantBody(team, " \t "), "name"},
		{"name too long", createAssistantBody(team, strings.Repeat("a", 101)), "name"},
		{"name too long after trimming", createAssistantBody(team, " "+strings.Repeat("é", 101)+" "), "name"},
		{"name with a line break", createAssistantBody(team, "Sales\nAgent"), "name"},
		{"name a number", `{"teamId": "` + team + `", "name": 42}`, "name"},
		{"name null", `{"teamId": "` + team + `", "name": null}`, "name"},
		{"empty body", ``, "body"},
		{"array body", `[{"teamId": "` + team + `", "name": "Sales"}]`, "body"},
		{"malformed", `{"teamId": "` + team + `", "name": "Sales"`, "body"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do(request{method: http.MethodPost, path: assistantsPath, token: acct.Token, body: tc.body})
			er := wantError(t, r, http.StatusBadRequest, "invalid_request", tc.field)
			if tc.field == "teamId" && !strings.Contains(fmt.Sprint(er["message"]), "teamId") {
				t.Errorf("message %q does not name teamId", er["message"])
			}
		})
	}

	// 100 characters (not bytes), once trimmed, is fine.
	for _, name := range []string{strings.Repeat("a", 100), "  " + strings.Repeat("日", 100) + "  "} {
		r := e.do(request{method: http.MethodPost, path: assistantsPath, token: acct.Token, body: createAssistantBody(team, name)})
		if r.status != http.StatusCreated {
			t.Errorf("a %d-character name: %d %s", len([]rune(strings.TrimSpace(name))), r.status, r.raw)
		}
	}

	r := e.do(request{method: http.MethodGet, path: assistantsPath, token: acct.Token})
	wantError(t, r, http.StatusBadRequest, "invalid_request", "teamId")
	r = e.do(request{method: http.MethodGet, path: assistantsPath + "?teamId=", token: acct.Token})
	wantError(t, r, http.StatusBadRequest, "invalid_request", "teamId")

	// Only the two valid names were stored.
	r = e.do(request{method: http.MethodGet, path: listPath(team), token: acct.Token})
	if n := intOf(t, r.body["count"]); n != 2 {
		t.Errorf("%d assistants stored, want 2: %s", n, r.raw)
	}
}

// TestAssistantsTeamAccess checks that another team's id and a team id that
// does not exist get the same 403, and that nothing leaks across teams.
func TestAssistantsTeamAccess(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	alice := e.newAccount("alice@example.com")
	bob := e.newAccount("bob@example.com")

	r := e.do(request{method: http.MethodPost, path: assistantsPath, token: bob.Token, body: createAssistantBody(bob.TeamID, "Bob's agent")})
	if r.status != http.StatusCreated {
		t.Fatalf("bob creating in his team: %d %s", r.status, r.raw)
	}

	missing := domain.NewID(domain.PrefixTeam)
	var bodies []map[string]any
	for _, tc := range []struct{ name, method, path, body string }{
		{"create in another team", http.MethodPost, assistantsPath, createAssistantBody(bob.TeamID, "Sneaky")},
		{"create in a missing team", http.MethodPost, assistantsPath, createAssistantBody(missing, "Sneaky")},
		{"create in a very long team id", http.MethodPost, assistantsPath, createAssistantBody(strings.Repeat("t", 500), "Sneaky")},
		{"create in another team, bad name", http.MethodPost, assistantsPath, createAssistantBody(bob.TeamID, "")},
		{"list another team", http.MethodGet, listPath(bob.TeamID), ""},
		{"list a missing team", http.MethodGet, listPath(missing), ""},
		{"list an injection attempt", http.MethodGet, listPath("' OR '1'='1"), ""},
	} {
		r := e.do(request{method: tc.method, path: tc.path, token: alice.Token, body: tc.body})
		er := wantError(t, r, http.StatusForbidden, "team_access_denied", "")
		bodies = append(bodies, er)
		t.Logf("%s: %s", tc.name, r.raw)
	}
	for i := 1; i < len(bodies); i++ {
		if !reflect.DeepEqual(bodies[i], bodies[0]) {
			t.Errorf("403 bodies differ, so team ids can be probed: %v vs %v", bodies[i], bodies[0])
		}
	}

	// Bob's team still has only Bob's assistant, and Alice's has none.
	r = e.do(request{method: http.MethodGet, path: listPath(bob.TeamID), token: bob.Token})
	if n := intOf(t, r.body["count"]); n != 1 {
		t.Errorf("bob's team has %d assistants, want 1: %s", n, r.raw)
	}
	r = e.do(request{method: http.MethodGet, path: listPath(alice.TeamID), token: alice.Token})
	if n := intOf(t, r.body["count"]); n != 0 {
		t.Errorf("alice's team has %d assistants, want 0: %s", n, r.raw)
	}

	// A user in two teams reaches both, with either of their keys.
	carol1 := e.newAccount("carol@example.com")
	carol2 := e.newAccount("CAROL@example.com")
	if carol1.UserID != carol2.UserID {
		t.Fatalf("bootstrap made two users for one email")
	}
	for _, token := range []string{carol1.Token, carol2.Token} {
		for _, team := range []string{carol1.TeamID, carol2.TeamID} {
			r := e.do(request{method: http.MethodPost, path: assistantsPath, token: token, body: createAssistantBody(team, "Carol's agent")})
			if r.status != http.StatusCreated {
				t.Errorf("carol in team %s: %d %s", team, r.status, r.raw)
			}
		}
	}
	r = e.do(request{method: http.MethodGet, path: listPath(carol2.TeamID), token: carol1.Token})
	if n := intOf(t, r.body["count"]); n != 2 {
		t.Errorf("carol's second team has %d assistants, want 2: %s", n, r.raw)
	}
}
