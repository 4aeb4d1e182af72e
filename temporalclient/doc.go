// Package temporalclient is the client side of Talkturo's Temporal
// workflows (package workflows): the connection to a Temporal frontend
// (New, with TLS and API keys), NumberService, which starts, updates,
// signals and queries the workflows for the API and the activities, the
// worker that runs them (NewWorker), the reconciliation schedule, the SDK's
// metrics and tracing interceptor, and the registration of the workflows'
// search attributes in a namespace. Module and WorkerModule wire it into an
// fx app.
package temporalclient
