package api_test

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/talkturo/phonenumbers/domain"
)

// TestREADMEErrorTableListsEveryPublicCode keeps the README's error table,
// api/openapi.json's ErrorCode (ErrorDetail.code and a listed number's
// failure_reason) and the public codes of domain's
// registry (domain.Codes) in step, every way: each public code is in the
// table and the enum, and neither lists anything else.
func TestREADMEErrorTableListsEveryPublicCode(t *testing.T) {
	var public []string
	for _, c := range domain.Codes() {
		if c.IsPublic() {
			public = append(public, c.Code)
		}
	}
	if len(public) == 0 {
		t.Fatal("domain registers no public error code at all")
	}
	documented := readmeErrorCodes(t, "../README.md")
	schema := loadOpenAPI(t).Components.Schemas["ErrorCode"]
	if schema == nil {
		t.Fatal("api/openapi.json has no ErrorCode")
	}
	var enum []string
	for _, v := range schema.Value.Enum {
		enum = append(enum, v.(string))
	}
	for _, code := range public {
		if !slices.Contains(documented, code) {
			t.Errorf("%s, a public code in domain's registry, is missing from the README's error table", code)
		}
		if !slices.Contains(enum, code) {
			t.Errorf("%s, a public code in domain's registry, is missing from ErrorCode in api/openapi.json", code)
		}
	}
	for _, code := range documented {
		if !slices.Contains(public, code) {
			t.Errorf("the README's error table lists %s, which is no public code in domain's registry", code)
		}
	}
	for _, code := range enum {
		if !slices.Contains(public, code) {
			t.Errorf("ErrorCode in api/openapi.json allows %s, which is no public code in domain's registry", code)
		}
	}
}

var backticked = regexp.MustCompile("`([a-z_]+)`")

// readmeErrorCodes returns the codes of the table under "### Errors".
func readmeErrorCodes(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(b), "\n### Errors\n")
	if !ok {
		t.Fatal("the README has no \"### Errors\" section")
	}
	var codes []string
	inTable := false
	for _, line := range strings.Split(section, "\n") {
		if !strings.HasPrefix(line, "|") {
			if inTable {
				break
			}
			continue
		}
		inTable = true
		cells := strings.Split(line, "|")
		if len(cells) < 4 {
			continue
		}
		for _, m := range backticked.FindAllStringSubmatch(cells[2], -1) {
			codes = append(codes, m[1])
		}
	}
	if len(codes) == 0 {
		t.Fatal("found no code in the README's error table")
	}
	return codes
}
