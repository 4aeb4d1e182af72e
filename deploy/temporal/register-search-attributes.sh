#!/bin/sh
# Registers the custom search attributes of workflows/searchattrs.go in a
# Temporal namespace, then lists the namespace's attributes. The same command
# as search-attributes-job.yaml, for a shell with the temporal CLI, e.g. the
# chart's admintools pod:
#
#   kubectl -n temporal exec -i deploy/temporal-admintools -- sh -s < deploy/temporal/register-search-attributes.sh
#
# or a laptop after `kubectl -n temporal port-forward svc/temporal-frontend 7233:7233`
# with TEMPORAL_ADDRESS=127.0.0.1:7233.
#
# Idempotent: attributes already there with the same type are left alone; one
# with another type makes the CLI fail ("already exists and has different type").
# Names and types must stay those of workflows/searchattrs.go
# (deploy/manifests_test.go checks them).
set -eu

TEMPORAL_ADDRESS="${TEMPORAL_ADDRESS:-temporal-frontend.temporal.svc.cluster.local:7233}"
TEMPORAL_NAMESPACE="${TEMPORAL_NAMESPACE:-talkturo}"

if ! temporal operator namespace describe --address "$TEMPORAL_ADDRESS" --namespace "$TEMPORAL_NAMESPACE" >/dev/null; then
	echo "register-search-attributes: namespace $TEMPORAL_NAMESPACE does not exist at $TEMPORAL_ADDRESS; create it first (deploy/temporal/README.md)." >&2
	exit 1
fi

temporal operator search-attribute create \
	--address "$TEMPORAL_ADDRESS" --namespace "$TEMPORAL_NAMESPACE" \
	--name TeamId --type Keyword \
	--name PhoneNumber --type Keyword \
	--name NumberStatus --type Keyword \
	--name IsTrial --type Bool \
	--name TrialExpiresAt --type Datetime

temporal operator search-attribute list --address "$TEMPORAL_ADDRESS" --namespace "$TEMPORAL_NAMESPACE"
