// Package domain holds the nouns and rules of Talkturo phone numbers: teams
// and their plans, phone numbers and their lifecycle, eligibility, and the
// ports (interfaces) that adapters implement. It imports nothing of ours, so
// every other package can depend on it and it depends on none of them.
package domain
