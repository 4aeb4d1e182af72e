package workflows

import (
	"maps"
	"testing"

	enumspb "go.temporal.io/api/enums/v1"
)

// TestSearchAttributesAreTheNamespaces: the names and index types
// namespaces have registered (cmd/talkturo's search-attributes command,
// the dev server): a change here needs every namespace changed first.
func TestSearchAttributesAreTheNamespaces(t *testing.T) {
	want := map[string]enumspb.IndexedValueType{
		"TeamId":         enumspb.INDEXED_VALUE_TYPE_KEYWORD,
		"PhoneNumber":    enumspb.INDEXED_VALUE_TYPE_KEYWORD,
		"NumberStatus":   enumspb.INDEXED_VALUE_TYPE_KEYWORD,
		"IsTrial":        enumspb.INDEXED_VALUE_TYPE_BOOL,
		"TrialExpiresAt": enumspb.INDEXED_VALUE_TYPE_DATETIME,
	}
	if got := SearchAttributes(); !maps.Equal(got, want) {
		t.Fatalf("SearchAttributes() = %v, want %v", got, want)
	}
}
