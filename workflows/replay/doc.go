// Package replay records, from real runs, the workflow histories that the
// replay test of package workflows (workflows/replay_test.go) replays
// against the current workflow code on every `go test`.
//
// Recording needs an embedded Temporal server (devserver), which
// imports package workflows; it therefore lives here rather than in that
// package's tests. It runs only when asked:
//
//	go test -tags record -count=1 -run TestRecordHistories ./workflows/replay/
//
// and (re)writes its files in workflows/testdata/histories/ (a history
// kept from older code, such as
// number-trial-expired-before-trial-conversion.json, is left alone).
package replay
