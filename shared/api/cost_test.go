package api

import (
	"context"
	"fmt"
	"testing"

	"github.com/referral/referrals/devkit/dynamotest"
	"github.com/referral/referrals/devkit/streamtest"
	"github.com/referral/referrals/shared/insights"
	"github.com/referral/referrals/shared/platform"
	"github.com/referral/referrals/shared/store"
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

// What the insights stream function writes for a batch of conversions, each of its own
// advocate (steady traffic): one ADD update of the month's stats and the shard's checkpoint,
// whatever the batch's size, and no read but the checkpoint's and, in a fresh container, the
// program's (then cached). The conversion ranks its
// advocate in its own transaction (the standing's GSI2 key, priced in the test above), so a
// leaderboard write per advocate here would be paid twice: it shows here first.
func TestTheInsightsWriteOnlyTheStatsAndTheCheckpointPerBatch(t *testing.T) {
	tbl := streamtest.Start(t)
	e := newPerfEnv(t, tbl.DB)
	tbl.SetClock(e.seed.clock)
	programs := &store.ProgramCache{Store: e.store, TTL: platform.ProgramCacheTTL}
	stats := &insights.Consumer{Store: e.store, Programs: programs, Log: quietLog}
	const n = 20
	referees := make([]string, n)
	for i := range referees {
		_, code := e.advocate()
		referees[i] = e.referee(code)
	}
	tbl.Take()
	for _, r := range referees {
		e.must("POST", "/conversions", conversionBody(e.id("order"), r))
	}
	records := tbl.Take()
	e.meter.take()
	size, patterns := streamMappingOf(t, "InsightsStreamFunction")
	batches, err := streamtest.Batches(records, size, patterns)
	if err != nil {
		t.Fatal(err)
	}
	if len(batches) != 1 {
		t.Fatalf("%d batches, want 1", len(batches))
	}
	resp, err := stats.Handle(context.Background(), streamtest.WindowEvent("shardId-cost", batches[0]))
	if err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("insights: %v, %d failed", err, len(resp.BatchItemFailures))
	}
	var wru, rru float64
	var items []string
	for _, q := range e.meter.take() {
		wru += q.WRU + q.GSIWRU
		rru += q.RRU
		for _, it := range q.Items {
			items = append(items, fmt.Sprintf("%s %s %d B: %v (+%v on indexes)", q.Op, it.Type, it.Bytes, it.Units, it.GSI))
		}
	}
	if wru != 4 || rru != 2 {
		t.Errorf("the insights spent %v WRU and %v RRU on %d conversions; want 4 (the stats item and the checkpoint, transactional) and 2 (the checkpoint, the program):\n%v",
			wru, rru, n, items)
	}
}
