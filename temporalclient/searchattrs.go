package temporalclient

import (
	"context"
	"fmt"
	"slices"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"

	"github.com/talkturo/phonenumbers/workflows"
)

// RegisterSearchAttributes adds to the namespace the custom search
// attributes of workflows.SearchAttributes that it lacks, and returns
// their names, sorted. It is safe to call at every start: attributes
// already there are left alone, so a namespace created by an older version
// gains the new ones; one there with another type is an error, to be sorted
// out by hand.
func RegisterSearchAttributes(ctx context.Context, op operatorservice.OperatorServiceClient, namespace string) (added []string, err error) {
	existing, err := op.ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: namespace})
	if err != nil {
		return nil, fmt.Errorf("list search attributes of namespace %q: %w", namespace, err)
	}
	missing := map[string]enumspb.IndexedValueType{}
	for name, typ := range workflows.SearchAttributes() {
		if have, ok := existing.GetCustomAttributes()[name]; ok {
			if have != typ {
				return nil, fmt.Errorf("search attribute %s of namespace %q has type %s, want %s", name, namespace, have, typ)
			}
			continue
		}
		missing[name] = typ
		added = append(added, name)
	}
	if len(missing) == 0 {
		return nil, nil
	}
	_, err = op.AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{Namespace: namespace, SearchAttributes: missing})
	if err != nil {
		return nil, fmt.Errorf("add search attributes to namespace %q: %w", namespace, err)
	}
	slices.Sort(added)
	return added, nil
}
