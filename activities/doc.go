// Package activities holds the Temporal activities of Talkturo phone
// numbers: plan-slot reservation, the Telnyx order and release, and
// persistence. Each is small and idempotent (Temporal retries it), works
// only through the domain's ports, and has its retry policy next to it.
package activities
