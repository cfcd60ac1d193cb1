package store

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/referral/referrals/shared/referral"
)

// codeItem is a referral code. It copies the advocate's first name so the public code check
// is one read (the only personal data a stranger with the code may see). Until its first
// referral it is listed on GSI4 by when its advocate is next due a reminder (remindersSK);
// the referral, or the last reminder, moves it out of the due range.
type codeItem struct {
	PK                string     `json:"PK"`
	SK                string     `json:"SK"`
	GSI3PK            string     `json:"GSI3PK,omitempty"`
	GSI3SK            string     `json:"GSI3SK,omitempty"`
	Type              string     `json:"type"`
	Code              string     `json:"code"`
	ProgramID         string     `json:"programId"`
	CustomerID        string     `json:"customerId"`
	AdvocateFirstName string     `json:"advocateFirstName"`
	Paused            bool       `json:"paused"`
	Blocked           bool       `json:"blocked,omitempty"` // the advocate is on the blocklist
	Uses              int        `json:"uses"`
	MaxUses           int        `json:"maxUses"`
	ExpiresAt         *time.Time `json:"expiresAt"`
	CreatedAt         time.Time  `json:"createdAt"`
	// Origin is CodeForAsk when POST /asks created the code: the ask's email introduces it,
	// so the code's insert sends none of its own.
	Origin string `json:"origin,omitempty"`
	// RemindersSent counts the reminders its advocate was sent to share it, the last at
	// LastReminderAt.
	RemindersSent  int        `json:"remindersSent,omitempty"`
	LastReminderAt *time.Time `json:"lastReminderAt,omitempty"`
}

// CodeForAsk is the origin of a code created by an ask.
const CodeForAsk = "ask"

// advocateItem is an advocate's standing in one program: their code and the counters the
// reward engine needs. Version guards the counters (optimistic concurrency).
type advocateItem struct {
	PK               string         `json:"PK"`
	SK               string         `json:"SK"`
	Type             string         `json:"type"`
	ProgramID        string         `json:"programId"`
	CustomerID       string         `json:"customerId"`
	Code             string         `json:"code"`
	Counts           map[string]int `json:"counts,omitempty"`
	RewardCount      int            `json:"rewardCount"`
	RewardAmount     int64          `json:"rewardAmount"`
	Day              string         `json:"day"`
	ConversionsOnDay int            `json:"conversionsOnDay"`
	Thresholds       []string       `json:"thresholds,omitempty"` // threshold bonuses paid and standing
	Blocked          bool           `json:"blocked,omitempty"`    // the advocate is on the blocklist
	// LB is the advocate's board on the leaderboard of the month of their latest conversion of
	// the program's last milestone (see board); nil on a standing written before standings
	// kept it. Standings written before the months' boards were kept also carry GSI2 keys,
	// which nothing writes any more (docs/DATA-MODEL.md).
	LB        *board    `json:"lb,omitempty"`
	Version   int64     `json:"version"`
	CreatedAt time.Time `json:"createdAt"`
}

func (a *advocateItem) state() referral.AdvocateState {
	return referral.AdvocateState{Counts: a.Counts, RewardCount: a.RewardCount, RewardAmount: a.RewardAmount,
		Day: a.Day, ConversionsOnDay: a.ConversionsOnDay, Thresholds: a.Thresholds}
}

// standingUpdate writes a standing's counters as st says, and its leaderboard board when b is
// not nil, if the item is still at version.
func standingUpdate(a advocateItem, st referral.AdvocateState, b *board) types.TransactWriteItem {
	cond := expression.Name("version").Equal(expression.Value(a.Version))
	upd := expression.Set(expression.Name("counts"), expression.Value(st.Counts)).
		Set(expression.Name("rewardCount"), expression.Value(st.RewardCount)).
		Set(expression.Name("rewardAmount"), expression.Value(st.RewardAmount)).
		Set(expression.Name("day"), expression.Value(st.Day)).
		Set(expression.Name("conversionsOnDay"), expression.Value(st.ConversionsOnDay)).
		Set(expression.Name("version"), expression.Value(a.Version+1))
	if len(st.Thresholds) > 0 {
		upd = upd.Set(expression.Name("thresholds"), expression.Value(st.Thresholds))
	} else if len(a.Thresholds) > 0 { // NULL rather than REMOVE, which minidyn ignores
		upd = upd.Set(expression.Name("thresholds"), expression.Value(&types.AttributeValueMemberNULL{Value: true}))
	}
	if b != nil {
		upd = upd.Set(expression.Name("lb"), expression.Value(attrValue(*b)))
	}
	return update(a.PK, a.SK, upd, &cond)
}

// withState is the standing after a write of st (and of board b, when not nil) at the next
// version.
func (a advocateItem) withState(st referral.AdvocateState, b *board) advocateItem {
	a.Counts, a.RewardCount, a.RewardAmount = st.Counts, st.RewardCount, st.RewardAmount
	a.Day, a.ConversionsOnDay, a.Thresholds, a.Version = st.Day, st.ConversionsOnDay, st.Thresholds, a.Version+1
	if b != nil {
		a.LB = b
	}
	return a
}

// CodeRecord is a code with what the API needs around it.
type CodeRecord struct {
	referral.Code
	AdvocateFirstName string
	Paused            bool
}

// code is the domain's view of the item (without status).
func (it *codeItem) code() referral.Code {
	return referral.Code{Code: it.Code, ProgramID: it.ProgramID, CustomerID: it.CustomerID, Uses: it.Uses,
		MaxUses: it.MaxUses, ExpiresAt: it.ExpiresAt, CreatedAt: it.CreatedAt}
}

func (it *codeItem) record(p *referral.Program, now time.Time) CodeRecord {
	c := it.code()
	c.ShareURL = referral.ShareURL(p.LandingURL, it.Code)
	c.Status = referral.CodeStatus(p, c, it.Paused || it.Blocked, now)
	return CodeRecord{Code: c, AdvocateFirstName: it.AdvocateFirstName, Paused: it.Paused}
}

// CreateCode returns the advocate's code in the program, creating it when there is none:
// 1 consistent BatchGetItem (customer + advocate standing), and for a new code 1
// TransactWriteItems whose conditions keep codes unique and one per advocate per program.
// created is false when the advocate already had a code. A taken vanity code is ErrCodeTaken.
func (s *Store) CreateCode(ctx context.Context, p *referral.Program, customerID, vanity string) (CodeRecord, bool, error) {
	return s.createCode(ctx, p, customerID, vanity, "")
}

// CreateAskCode is CreateCode for an ask to an advocate without a code: the new code is
// marked CodeForAsk, so that the ask's email is the only one that announces it.
func (s *Store) CreateAskCode(ctx context.Context, p *referral.Program, customerID string) (CodeRecord, bool, error) {
	return s.createCode(ctx, p, customerID, "", CodeForAsk)
}

func (s *Store) createCode(ctx context.Context, p *referral.Program, customerID, vanity, origin string) (CodeRecord, bool, error) {
	now := s.now()
	got, err := s.batchGet(ctx, key(customerPK(customerID), customerSK), key(customerPK(customerID), advocateSK(p.ProgramID)))
	if err != nil {
		return CodeRecord{}, false, fmt.Errorf("create code for %s: %w", customerID, err)
	}
	if adv, ok := got[customerPK(customerID)+"|"+advocateSK(p.ProgramID)]; ok {
		return s.existingCode(ctx, p, adv, vanity, now)
	}
	custItem, ok := got[customerPK(customerID)+"|"+customerSK]
	if !ok {
		return CodeRecord{}, false, referral.ErrCustomerNotFound
	}
	cust, err := decodeCustomer(custItem)
	if err != nil {
		return CodeRecord{}, false, fmt.Errorf("create code for %s: %w", customerID, err)
	}
	if !p.ActiveAt(now) {
		return CodeRecord{}, false, referral.ErrProgramInactive
	}
	if cust.Blocked {
		return CodeRecord{}, false, referral.ErrCustomerBlocked
	}
	for attempt := 1; ; attempt++ {
		code := vanity
		if code == "" {
			if code, err = referral.GenerateCode(p.Codes.Prefix); err != nil {
				return CodeRecord{}, false, fmt.Errorf("create code: %w", err)
			}
		}
		it := codeItem{PK: codePK(code), SK: codeSK, GSI3PK: remindersPK(p.ProgramID), GSI3SK: remindersSK(now, code), Type: TypeCode,
			Code: code, ProgramID: p.ProgramID, CustomerID: customerID, AdvocateFirstName: referral.FirstName(cust.Name),
			MaxUses: p.Codes.MaxUses, CreatedAt: now, Origin: origin}
		if p.Codes.ExpiresInDays > 0 {
			t := now.AddDate(0, 0, p.Codes.ExpiresInDays)
			it.ExpiresAt = &t
		}
		adv := advocateItem{PK: customerPK(customerID), SK: advocateSK(p.ProgramID), Type: TypeAdvocate,
			ProgramID: p.ProgramID, CustomerID: customerID, Code: code, LB: &board{}, CreatedAt: now}
		err := s.transact(ctx, putNew(it), putNew(adv))
		reasons := cancellationReasons(err)
		switch {
		case err == nil:
			return it.record(p, now), true, nil
		case reasons != nil && reasons[1] == "ConditionalCheckFailed":
			// A concurrent request created this advocate's code first: that one stands.
			var stored advocateItem
			if _, err := s.getItem(ctx, adv.PK, adv.SK, &stored); err != nil {
				return CodeRecord{}, false, err
			}
			return s.codeOf(ctx, p, stored.Code, vanity, now)
		case reasons != nil && reasons[0] == "ConditionalCheckFailed":
			if vanity != "" {
				return CodeRecord{}, false, referral.ErrCodeTaken.At("code")
			}
			if attempt >= 3 { // 50 random bits colliding thrice means something else is wrong
				return CodeRecord{}, false, fmt.Errorf("create code: %d collisions in a row", attempt)
			}
		default:
			return CodeRecord{}, false, unavailable(fmt.Errorf("create code for %s: %w", customerID, err))
		}
	}
}

func (s *Store) existingCode(ctx context.Context, p *referral.Program, raw map[string]types.AttributeValue, vanity string, now time.Time) (CodeRecord, bool, error) {
	var adv advocateItem
	if err := unmarshal(raw, &adv); err != nil {
		return CodeRecord{}, false, fmt.Errorf("decode advocate: %w", err)
	}
	return s.codeOf(ctx, p, adv.Code, vanity, now)
}

// codeOf reads the advocate's existing code; asking for a different vanity code is a conflict.
func (s *Store) codeOf(ctx context.Context, p *referral.Program, code, vanity string, now time.Time) (CodeRecord, bool, error) {
	if vanity != "" && vanity != code {
		return CodeRecord{}, false, referral.ErrCodeTaken.With(fmt.Sprintf("the advocate already has the code %s in this program", code), nil).At("code")
	}
	var it codeItem
	found, err := s.getItem(ctx, codePK(code), codeSK, &it)
	if err != nil {
		return CodeRecord{}, false, err
	}
	if !found {
		return CodeRecord{}, false, fmt.Errorf("advocate's code %s is missing", code)
	}
	return it.record(p, now), false, nil
}

// GetCode reads a code (1 GetItem). found is false for an unknown code.
func (s *Store) GetCode(ctx context.Context, code string, consistent bool) (codeItem, bool, error) {
	var it codeItem
	res, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(s.table),
		Key: key(codePK(code), codeSK), ConsistentRead: aws.Bool(consistent)})
	if err != nil {
		return it, false, unavailable(fmt.Errorf("get code: %w", err))
	}
	if res.Item == nil {
		return it, false, nil
	}
	return it, true, unmarshal(res.Item, &it)
}

// PauseCode pauses a code (paused true) or resumes it: while paused it takes no referrals and
// checks as inactive; referees it brought before keep converting. 1 UpdateItem conditioned on
// the code existing (ErrCodeNotFound), returning it, and its program through programs (for
// its status and share link). Pausing a paused code changes nothing.
func (s *Store) PauseCode(ctx context.Context, code string, paused bool, programs *ProgramCache) (CodeRecord, error) {
	expr, err := expression.NewBuilder().WithUpdate(expression.Set(expression.Name("paused"), expression.Value(paused))).
		WithCondition(expression.AttributeExists(expression.Name("PK"))).Build()
	if err != nil {
		return CodeRecord{}, fmt.Errorf("pause code %s: %w", code, err)
	}
	res, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: aws.String(s.table), Key: key(codePK(code), codeSK),
		UpdateExpression: expr.Update(), ConditionExpression: expr.Condition(), ExpressionAttributeNames: expr.Names(),
		ExpressionAttributeValues: expr.Values(), ReturnValues: types.ReturnValueAllNew})
	if conditionFailed(err) {
		return CodeRecord{}, referral.ErrCodeNotFound
	}
	if err != nil {
		return CodeRecord{}, unavailable(fmt.Errorf("pause code %s: %w", code, err))
	}
	var it codeItem
	if err := unmarshal(res.Attributes, &it); err != nil {
		return CodeRecord{}, fmt.Errorf("pause code %s: %w", code, err)
	}
	p, err := programs.Get(ctx, it.ProgramID)
	if err != nil {
		return CodeRecord{}, fmt.Errorf("program of code %s: %w", code, err)
	}
	return it.record(&p, s.now()), nil
}

// LookupCode returns a code's public record, its program read through programs.
func (s *Store) LookupCode(ctx context.Context, code string, programs *ProgramCache) (CodeRecord, referral.Program, error) {
	it, found, err := s.GetCode(ctx, code, false)
	if err != nil {
		return CodeRecord{}, referral.Program{}, err
	}
	if !found {
		return CodeRecord{}, referral.Program{}, referral.ErrCodeNotFound
	}
	p, err := programs.Get(ctx, it.ProgramID)
	if err != nil {
		return CodeRecord{}, p, fmt.Errorf("program of code: %w", err)
	}
	return it.record(&p, s.now()), p, nil
}
