package api

import (
	"fmt"
	"testing"

	"github.com/referral/referrals/devkit/dynamotest"
)

// What a warm conversion costs (demo program, one advocate reward, the advocate's second
// conversion of the month), priced from the items it reads and writes as BenchmarkRoundTrips
// and docs/PERFORMANCE.md price them: 1 BatchGetItem (the referral, the absent event,
// eventually consistent: 1 RRU) and 1 TransactWriteItems of four items under 1 KB (event,
// reward, referral, standing: 2 WRU each) and five index writes: the reward in GSI1 and GSI4,
// the referral's GSI1 entry (GSI4 projects none of what the conversion changes on it), and the
// standing's GSI2 key, which ranks the advocate on the month's leaderboard and moves with the
// count (a delete and a put: 2; the insights then write no leaderboard entry). A larger item,
// one more item or index entry, or one more read shows here before it shows on the bill.
func TestAWarmConversionCostsThirteenWriteUnitsAndOneReadUnit(t *testing.T) {
	e := newPerfEnv(t, dynamotest.Start(t))
	r := e.container("POST /conversions")
	_, code := e.advocate()
	a, b := e.referee(code), e.referee(code)
	e.call(r, "POST", "/conversions", conversionBody(e.id("order"), a))
	res := e.call(r, "POST", "/conversions", conversionBody(e.id("order"), b))
	if res.status != 201 {
		t.Fatalf("conversion: %d %s", res.status, res.body)
	}
	var table, index, read float64
	var items []string
	for _, q := range res.reqs {
		table += q.WRU
		index += q.GSIWRU
		read += q.RRU
		for _, it := range q.Items {
			items = append(items, fmt.Sprintf("%s %s %d B: %v (+%v on indexes)", q.Op, it.Type, it.Bytes, it.Units, it.GSI))
		}
	}
	if res.roundTrips != 2 || table != 8 || index != 5 || read != 1 {
		t.Errorf("a warm conversion made %v round trips, %v WRU on the table + %v on the indexes, %v RRU; want 2, 8 + 5, 1:\n%v",
			res.roundTrips, table, index, read, items)
	}
}
