package store

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/referral/referrals/devkit/dynamotest"
	"github.com/referral/referrals/shared/referral"
)

// boards is a program with two milestones (the last, purchase, ranks advocates), advocates
// with codes, and a clock the test moves.
type boards struct {
	t     *testing.T
	db    *dynamotest.DB
	s     *Store
	conv  *Conversions
	progs *ProgramCache
	p     referral.Program
	now   time.Time
	codes map[string]string // advocate → code
	n     int
}

func newBoards(t *testing.T, advocates ...string) *boards {
	t.Helper()
	b := &boards{t: t, db: dynamotest.Start(t), now: nov, codes: map[string]string{}}
	b.s = New(b.db.Client, b.db.Table, func() time.Time { return b.now })
	b.progs = &ProgramCache{Store: b.s, TTL: time.Minute}
	b.conv = &Conversions{Store: b.s, Programs: b.progs}
	ctx := context.Background()
	p := referral.Program{ProgramID: "p1", Name: "Board", Status: referral.ProgramActive, Currency: "USD",
		LandingURL: "https://shop.example.com", Milestones: []string{"signup", "purchase"},
		AdvocateRewards: []referral.Rule{{Milestone: "purchase", Type: referral.RuleTiered, Kind: "gift_card",
			Tiers: []referral.Tier{{Amount: 1000}}}}}
	var err error
	if b.p, _, err = b.s.PutProgram(ctx, p); err != nil {
		t.Fatal(err)
	}
	for _, a := range advocates {
		if _, _, err := b.s.PutCustomer(ctx, a, CustomerUpdate{Name: a}); err != nil {
			t.Fatal(err)
		}
		rec, _, err := b.s.CreateCode(ctx, &b.p, a, "")
		if err != nil {
			t.Fatal(err)
		}
		b.codes[a] = rec.Code.Code
	}
	return b
}

// convert records event for a new referee of adv reaching milestone at at.
func (b *boards) convert(adv, event, milestone string, at time.Time) {
	b.t.Helper()
	b.n++
	referee := fmt.Sprintf("%s-friend-%d", adv, b.n)
	ctx := context.Background()
	if _, err := b.s.CreateReferral(ctx, NewReferral{Code: b.codes[adv], Referee: Referee{ID: referee}}, b.progs); err != nil {
		b.t.Fatalf("refer %s: %v", referee, err)
	}
	b.now = at
	if _, _, err := b.conv.Record(ctx, &b.p, ConversionRequest{EventID: event, ProgramID: "p1", RefereeID: referee,
		Milestone: milestone, OccurredAt: at, PayloadHash: "h-" + event}); err != nil {
		b.t.Fatalf("convert %s: %v", event, err)
	}
}

func (b *boards) reverse(event string, at time.Time) {
	b.t.Helper()
	b.now = at
	if _, err := b.s.Reverse(context.Background(), event, b.progs); err != nil {
		b.t.Fatalf("reverse %s: %v", event, err)
	}
}

// settle does what the insights stream consumer does once the stream has delivered every
// change: it applies each standing's and entry's board to its period's board (absolute
// counts, so applying the current items is what the stream converges to).
func (b *boards) settle() {
	b.t.Helper()
	ctx := context.Background()
	out, err := b.db.Client.Scan(ctx, &dynamodb.ScanInput{TableName: aws.String(b.db.Table)})
	if err != nil {
		b.t.Fatal(err)
	}
	var places []BoardPlace
	for _, raw := range out.Items {
		var pl *BoardPlace
		switch StreamItem(raw).Type() {
		case TypeAdvocate:
			var a advocateItem
			if err := unmarshal(raw, &a); err != nil {
				b.t.Fatal(err)
			}
			pl = a.LB.place(a.ProgramID, a.CustomerID)
		case TypeLeader:
			it, err := decodeLeader(raw)
			if err != nil {
				b.t.Fatal(err)
			}
			pl = it.place(it.ProgramID, it.AdvocateID)
		}
		if pl != nil {
			places = append(places, *pl)
		}
	}
	if err := b.s.ApplyBoards(ctx, places); err != nil {
		b.t.Fatal(err)
	}
}

// ranking is the period's leaderboard once the stream has run.
func (b *boards) ranking(period string, limit int) []string {
	b.t.Helper()
	b.settle()
	lb, err := b.s.Leaderboard(context.Background(), "p1", period, limit)
	if err != nil {
		b.t.Fatal(err)
	}
	var out []string
	for i, e := range lb {
		if e.Rank != i+1 {
			b.t.Errorf("entry %d has rank %d", i, e.Rank)
		}
		out = append(out, fmt.Sprintf("%s:%d", e.AdvocateID, e.Conversions))
	}
	return out
}

func (b *boards) standing(adv string) advocateItem {
	b.t.Helper()
	var a advocateItem
	if _, err := b.s.getItem(context.Background(), customerPK(adv), advocateSK("p1"), &a); err != nil {
		b.t.Fatal(err)
	}
	return a
}

func TestLeaderboardRanksByCountThenWhoGotThereFirst(t *testing.T) {
	b := newBoards(t, "ana", "bo", "cy", "dee")
	at := func(m int) time.Time { return nov.Add(time.Duration(m) * time.Minute) }
	b.convert("cy", "c1", "purchase", at(0))
	b.convert("ana", "a1", "purchase", at(1))
	b.convert("bo", "b1", "purchase", at(2))
	b.convert("dee", "d1", "purchase", at(3))
	b.convert("cy", "c2", "purchase", at(4))
	b.convert("bo", "b2", "purchase", at(5))
	b.convert("dee", "d0", "signup", at(6)) // not the last milestone: ranks nothing
	b.convert("ana", "a2", "purchase", at(10))
	if got, want := b.ranking("2026-11", 10), []string{"cy:2", "bo:2", "ana:2", "dee:1"}; !slices.Equal(got, want) {
		t.Errorf("ranking = %v, want %v (2 each: cy reached 2 at 0:04, bo at 0:05, ana at 0:10)", got, want)
	}
	if got := b.ranking("2026-11", 2); !slices.Equal(got, []string{"cy:2", "bo:2"}) {
		t.Errorf("top 2 = %v", got)
	}
	// A refund takes cy's later conversion back: cy now reached 1 at 0:00, before dee (0:03).
	b.reverse("c2", at(20))
	if got, want := b.ranking("2026-11", 10), []string{"bo:2", "ana:2", "cy:1", "dee:1"}; !slices.Equal(got, want) {
		t.Errorf("after a reversal: %v, want %v", got, want)
	}
	// Taking back every conversion of the month takes the advocate off the board.
	b.reverse("d1", at(21))
	if got, want := b.ranking("2026-11", 10), []string{"bo:2", "ana:2", "cy:1"}; !slices.Equal(got, want) {
		t.Errorf("after dee's refund: %v, want %v", got, want)
	}
	if got := b.ranking("2026-12", 10); len(got) != 0 {
		t.Errorf("December = %v, want empty", got)
	}
	// December: ana's November board is frozen as an entry; a refund of a November
	// conversion then moves that entry, not the standing's December board.
	dec := time.Date(2026, 12, 1, 0, 0, 1, 0, time.UTC)
	b.convert("ana", "a3", "purchase", dec)
	if got, want := b.ranking("2026-12", 10), []string{"ana:1"}; !slices.Equal(got, want) {
		t.Errorf("December = %v, want %v", got, want)
	}
	if got, want := b.ranking("2026-11", 10), []string{"bo:2", "ana:2", "cy:1"}; !slices.Equal(got, want) {
		t.Errorf("November after ana's December conversion = %v, want %v", got, want)
	}
	b.reverse("a2", dec.Add(time.Minute))
	if got, want := b.ranking("2026-11", 10), []string{"bo:2", "cy:1", "ana:1"}; !slices.Equal(got, want) {
		t.Errorf("November after refunding ana's a2 = %v, want %v (cy reached 1 at 0:00, ana at 0:01)", got, want)
	}
	if got, want := b.ranking("2026-12", 10), []string{"ana:1"}; !slices.Equal(got, want) {
		t.Errorf("December after a November refund = %v, want %v", got, want)
	}
}

func TestALeaderboardBoardStaysSmallAndRefundsMoveItsTimeBack(t *testing.T) {
	b := newBoards(t, "ana", "bo")
	at := func(m int) time.Time { return nov.Add(time.Duration(m) * time.Minute) }
	for i := range 30 {
		b.convert("ana", fmt.Sprintf("a%02d", i), "purchase", at(i))
	}
	a := b.standing("ana")
	if a.LB == nil || a.LB.Conversions != 30 || len(a.LB.Recent) != maxRecent || !a.LB.ReachedAt.Equal(at(29)) {
		t.Fatalf("board: %+v", a.LB)
	}
	raw, err := b.db.Client.GetItem(context.Background(), &dynamodb.GetItemInput{TableName: aws.String(b.db.Table),
		Key: key(customerPK("ana"), advocateSK("p1")), ConsistentRead: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	if n := dynamotest.ItemSize(raw.Item); n >= 1024 {
		t.Errorf("the standing with a full board is %d bytes: over 1 KB, each conversion's write of it costs twice as much", n)
	}
	// Refunding an old conversion keeps the time; refunding the latest moves it to the one before.
	b.reverse("a03", at(40))
	b.reverse("a29", at(41))
	if a := b.standing("ana"); a.LB.Conversions != 28 || !a.LB.ReachedAt.Equal(at(28)) {
		t.Errorf("after refunds: %d conversions reached at %v, want 28 at %v", a.LB.Conversions, a.LB.ReachedAt, at(28))
	}
}

// TestAStandingFromBeforeBoardsTakesOverItsMonthsEntry: before standings kept their board, the
// insights wrote each advocate's entry of the month. A refund moves that entry as it is; the
// advocate's next conversion takes it over (the standing counts on from it, the entry goes),
// so the advocate is ranked once, with every conversion of the month.
func TestAStandingFromBeforeBoardsTakesOverItsMonthsEntry(t *testing.T) {
	b := newBoards(t, "ana", "bo")
	ctx := context.Background()
	at := func(m int) time.Time { return nov.Add(time.Duration(m) * time.Minute) }
	b.convert("bo", "b1", "purchase", at(0))
	b.convert("bo", "b2", "purchase", at(1))
	// ana's standing and entry as they were written before: no board, an entry of 3.
	old := b.standing("ana")
	old.LB = nil
	if _, err := b.db.Client.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(b.db.Table), Item: mustMarshal(old)}); err != nil {
		t.Fatal(err)
	}
	legacy := mustMarshal(leaderItem{PK: customerPK("ana"), SK: leaderSK("p1", "2026-11"), Type: TypeLeader, ProgramID: "p1",
		AdvocateID: "ana", board: board{Period: "2026-11", Conversions: 3, ReachedAt: at(4)},
		Legacy: map[string]time.Time{"x1": at(2), "x2": at(3), "x3": at(4)}, Version: 3})
	withGSI2(legacy, 3, at(4), "ana")
	if _, err := b.db.Client.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(b.db.Table), Item: legacy}); err != nil {
		t.Fatal(err)
	}
	if got, want := b.ranking("2026-11", 10), []string{"ana:3", "bo:2"}; !slices.Equal(got, want) {
		t.Fatalf("before: %v, want %v", got, want)
	}
	b.convert("ana", "a1", "purchase", at(10))
	if got, want := b.ranking("2026-11", 10), []string{"ana:4", "bo:2"}; !slices.Equal(got, want) {
		t.Errorf("after ana's conversion: %v, want %v", got, want)
	}
	if entry, err := b.s.leaderEntry(ctx, "p1", "ana", "2026-11"); err != nil || entry != nil {
		t.Errorf("the old entry is still there: %+v %v", entry, err)
	}
	b.reverse("a1", at(11))
	if a := b.standing("ana"); a.LB.Conversions != 3 || !a.LB.ReachedAt.Equal(at(4)) {
		t.Errorf("after the refund: %+v, want 3 reached at %v", a.LB, at(4))
	}
}

// withGSI2 gives an item the GSI2 keys that ranked it on November's leaderboard before the
// boards were kept.
func withGSI2(item map[string]types.AttributeValue, count int, reached time.Time, advocate string) {
	item["GSI2PK"] = &types.AttributeValueMemberS{Value: leaderboardPK("p1", "2026-11")}
	item["GSI2SK"] = &types.AttributeValueMemberS{Value: leaderboardSK(count, reached, advocate)}
}
