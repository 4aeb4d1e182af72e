package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
)

// apiAnswer is an answer of the API, read to its end.
type apiAnswer struct {
	status int
	body   []byte
}

// call sends one request to the API and reads the whole answer, so that a
// latency includes the transfer of the body.
func (s *stack) call(ctx context.Context, method, path, token string, body any) (apiAnswer, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return apiAnswer{}, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, s.apiURL+path, rd)
	if err != nil {
		return apiAnswer{}, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := s.http.Do(req)
	if err != nil {
		return apiAnswer{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return apiAnswer{status: resp.StatusCode, body: b}, err
}

// expect classifies the answer of an API request that should answer want:
// expect(200)(s.call(…)).
func expect(want int) func(apiAnswer, error) outcome {
	return func(a apiAnswer, err error) outcome { return outcomeOf(a, err, want) }
}

func outcomeOf(a apiAnswer, err error, want int) outcome {
	if err != nil {
		return outcome{class: "transport error"}
	}
	if a.status == want {
		return okOutcome()
	}
	if a.status == http.StatusAccepted {
		// A purchase whose order had not settled within PURCHASE_WAIT: the
		// workflow carries on, but this request did not see it through.
		return outcome{class: "HTTP 202 pending"}
	}
	var e struct {
		Error struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	_ = json.Unmarshal(a.body, &e)
	return outcome{class: fmt.Sprintf("HTTP %d %s", a.status, e.Error.Code)}
}

// listPath is the list of a team's numbers, with a page size and cursor
// when not zero.
func listPath(teamID string, limit int, cursor string) string {
	q := url.Values{"teamId": {teamID}}
	if limit > 0 {
		q.Set("limit", fmt.Sprint(limit))
	}
	if cursor != "" {
		q.Set("cursor", cursor)
	}
	return "/api/phone-numbers/purchase?" + q.Encode()
}

// listAnswer is the part of a list answer the checks read.
type listAnswer struct {
	Numbers []struct {
		ID string `json:"id"`
	} `json:"numbers"`
	Count      int     `json:"count"`
	NextCursor *string `json:"nextCursor"`
}
