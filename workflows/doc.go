// Package workflows holds the Temporal workflows of Talkturo phone numbers,
// their IDs, the names and payloads of their signals, updates and queries
// (the contract other systems rely on), and the custom search attributes
// operators filter by in the Temporal UI.
package workflows
