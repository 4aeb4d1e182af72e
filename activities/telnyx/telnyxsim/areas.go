package telnyxsim

import (
	"slices"
	"strings"
)

// npaInfo places a North American area code, for region_information and
// the locality and administrative_area filters.
type npaInfo struct {
	region, city, state string
}

// npaTable is a small atlas of well-known area codes; an area code outside
// it is still stocked, just without a city or state.
var npaTable = map[string]npaInfo{
	"202": {"US", "Washington", "DC"},
	"206": {"US", "Seattle", "WA"},
	"212": {"US", "New York", "NY"},
	"213": {"US", "Los Angeles", "CA"},
	"214": {"US", "Dallas", "TX"},
	"303": {"US", "Denver", "CO"},
	"305": {"US", "Miami", "FL"},
	"310": {"US", "Los Angeles", "CA"},
	"312": {"US", "Chicago", "IL"},
	"404": {"US", "Atlanta", "GA"},
	"408": {"US", "San Jose", "CA"},
	"415": {"US", "San Francisco", "CA"},
	"503": {"US", "Portland", "OR"},
	"512": {"US", "Austin", "TX"},
	"602": {"US", "Phoenix", "AZ"},
	"612": {"US", "Minneapolis", "MN"},
	"615": {"US", "Nashville", "TN"},
	"617": {"US", "Boston", "MA"},
	"646": {"US", "New York", "NY"},
	"702": {"US", "Las Vegas", "NV"},
	"704": {"US", "Charlotte", "NC"},
	"713": {"US", "Houston", "TX"},
	"720": {"US", "Denver", "CO"},
	"801": {"US", "Salt Lake City", "UT"},
	"808": {"US", "Honolulu", "HI"},
	"917": {"US", "New York", "NY"},
	"204": {"CA", "Winnipeg", "MB"},
	"306": {"CA", "Regina", "SK"},
	"403": {"CA", "Calgary", "AB"},
	"416": {"CA", "Toronto", "ON"},
	"514": {"CA", "Montreal", "QC"},
	"604": {"CA", "Vancouver", "BC"},
	"613": {"CA", "Ottawa", "ON"},
	"647": {"CA", "Toronto", "ON"},
	"780": {"CA", "Edmonton", "AB"},
	"902": {"CA", "Halifax", "NS"},
}

// defaultNPAs are searched when a local North American search names no
// area code, city or state.
var defaultNPAs = map[string][]string{
	"US": {"415", "212", "312", "512", "206", "303", "617", "404"},
	"CA": {"416", "604", "514", "403", "613"},
}

// tollFreeNPAs are the North American toll-free codes in use.
var tollFreeNPAs = []string{"800", "833", "844", "855", "866", "877", "888"}

// localNPAs picks the area codes a local US or CA search draws from: the one
// asked for, else those of the city or state asked for, else the defaults.
func localNPAs(q stockQuery) []string {
	if q.ndc != "" {
		return []string{q.ndc}
	}
	if q.locality == "" && q.adminArea == "" {
		return defaultNPAs[q.region]
	}
	var out []string
	for npa, info := range npaTable {
		if info.region == q.region &&
			(q.locality == "" || strings.EqualFold(q.locality, info.city)) &&
			(q.adminArea == "" || strings.EqualFold(q.adminArea, info.state)) {
			out = append(out, npa)
		}
	}
	slices.Sort(out) // map order is random; the stock must not be
	return out
}

// featuresOf lists what a stocked number can do.
func featuresOf(region, kind string) []string {
	if region == "US" && kind == kindLocal {
		return []string{"voice", "sms", "mms"}
	}
	return []string{"voice", "sms"}
}

// knownFeatures are the filter[features] values Telnyx accepts.
var knownFeatures = []string{"sms", "mms", "voice", "fax", "emergency", "hd_voice", "international_sms", "local_calling"}

// prices returns the monthly and upfront cost of a stocked number, in USD,
// as decimal strings like Telnyx sends.
func prices(region, kind string) (monthly, upfront string) {
	nanp := region == "US" || region == "CA"
	switch {
	case nanp && kind == kindLocal:
		return "1.00", "1.00"
	case nanp && kind == kindTollFree:
		return "2.00", "1.00"
	case kind == kindLocal:
		return "3.00", "3.00"
	case kind == kindTollFree:
		return "12.00", "10.00"
	default:
		return "5.00", "2.00"
	}
}
