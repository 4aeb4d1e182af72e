// Package workflows holds the Temporal workflows of Talkturo phone numbers,
// their IDs, the names and payloads of their signals, updates and queries
// (the contract other systems rely on), the custom search attributes
// operators filter by in the Temporal UI, and what a worker registers
// (Register). It is workflow code and its contract only: the client side
// (the connection, NumberService, the worker process, the schedule, SDK
// metrics) is package temporalclient.
package workflows
