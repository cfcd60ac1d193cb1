package store

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/referral/referrals/shared/referral"
)

// AdvocatePage is what an advocate's page shows of them in one program.
type AdvocatePage struct {
	Customer referral.Customer
	Erased   bool       // the customer's personal data was erased
	Code     CodeRecord // Code.Code is "" when the advocate has no code in the program
	Standing referral.AdvocateState
	// Referrals are the advocate's referrals in the program, oldest first, each with the
	// conversions that paid nothing (Unpaid); FirstNames has the referees' first names.
	Referrals  []referral.Referral
	FirstNames map[string]string
	Rewards    []referral.Reward // the advocate's rewards in the program, oldest first
}

// pageReferrals is how many of an advocate's referrals (over all programs) the page reads.
const pageReferrals = 200

// AdvocatePage reads an advocate's page in program p (access pattern "an advocate's page").
// Cost: 1 consistent BatchGetItem (the customer and their standing, which names their code);
// then side by side 1 GetItem (the code: paused, blocked, uses), 1 Query on GSI5
// (REFERRALS#<advocate>, the keys of up to 200 referrals) and 1 on GSI5 (REWARDS#<advocate>, the
// keys of the reward ledger, as ListRewards); then side by side 1 eventually consistent
// BatchGetItem of the program's referrals as stored, 1 of the rewards (per 100 of each; GSI5
// holds keys only) and 1 BatchGetItem projected to the referees' first names (FirstNames).
// Three round trips; no conversion event is read, because a referral keeps its unpaid
// conversions' reasons. An unknown customer is ErrCustomerNotFound.
func (s *Store) AdvocatePage(ctx context.Context, p *referral.Program, customerID string) (AdvocatePage, error) {
	var out AdvocatePage
	got, err := s.batchGet(ctx, key(customerPK(customerID), customerSK), key(customerPK(customerID), advocateSK(p.ProgramID)))
	if err != nil {
		return out, fmt.Errorf("advocate page of %s: %w", customerID, err)
	}
	raw, ok := got[customerPK(customerID)+"|"+customerSK]
	if !ok {
		return out, referral.ErrCustomerNotFound
	}
	var cust struct {
		customerItem
		ErasedAt *time.Time `json:"erasedAt"`
	}
	if err := unmarshal(raw, &cust); err != nil {
		return out, fmt.Errorf("decode customer %s: %w", customerID, err)
	}
	out.Customer, out.Erased = cust.Customer, cust.ErasedAt != nil
	var adv advocateItem
	if raw, ok := got[customerPK(customerID)+"|"+advocateSK(p.ProgramID)]; ok {
		if err := unmarshal(raw, &adv); err != nil {
			return out, fmt.Errorf("decode standing of %s: %w", customerID, err)
		}
		out.Standing = adv.state()
	}

	var (
		wg                      sync.WaitGroup
		codeErr, refErr, rewErr error
		code                    codeItem
		codeFound               bool
		listed, ledger          []listedKey
	)
	if adv.Code != "" {
		wg.Go(func() { code, codeFound, codeErr = s.GetCode(ctx, adv.Code, false) })
	}
	wg.Go(func() {
		listed, _, refErr = s.queryKeys(ctx, GSI5, referralsByAdvocatePK(customerID), Page{Limit: pageReferrals}, true)
	})
	wg.Go(func() { ledger, rewErr = s.allKeys(ctx, ledgerRun(customerID)) })
	wg.Wait()
	for _, err := range []error{codeErr, refErr, rewErr} {
		if err != nil {
			return out, fmt.Errorf("advocate page of %s: %w", customerID, err)
		}
	}
	if codeFound {
		out.Code = code.record(p, s.now())
	}
	var (
		mine    []listedKey
		friends []string
	)
	for _, k := range listed {
		if referee, ok := referralOf(k, p.ProgramID); ok {
			mine = append(mine, k)
			friends = append(friends, referee)
		}
	}
	out.FirstNames = map[string]string{}
	var (
		items                      []referralItem
		rewards                    []rewardItem
		readErr, rewsErr, namesErr error
	)
	if len(mine) > 0 {
		wg.Go(func() {
			readErr = s.readListed(ctx, mine, &items, indexRun{index: GSI5, pk: referralsByAdvocatePK(customerID)})
		})
		wg.Go(func() {
			out.FirstNames, namesErr = s.FirstNames(ctx, slices.Compact(slices.Sorted(slices.Values(friends))))
		})
	}
	wg.Go(func() { rewsErr = s.readListed(ctx, ledger, &rewards, ledgerRun(customerID)) })
	wg.Wait()
	for _, err := range []error{readErr, rewsErr, namesErr} {
		if err != nil {
			return out, fmt.Errorf("advocate page of %s: %w", customerID, err)
		}
	}
	all, _, _, err := ledgerPage(rewards, Page{}, s.now())
	if err != nil {
		return out, fmt.Errorf("advocate page of %s: %w", customerID, err)
	}
	for _, r := range all {
		if r.ProgramID == p.ProgramID {
			out.Rewards = append(out.Rewards, r)
		}
	}
	out.Referrals = referralsOf(items)
	return out, nil
}

// noteUnpaid keeps on a referral the reason a conversion was refused (why): 1 UpdateItem,
// conditional on the referral's version, so a concurrent conversion's update is never undone.
// It is a note on a refusal the caller answers anyway: when it loses a race or fails, the
// refusal stands and the note is dropped.
func (s *Store) noteUnpaid(ctx context.Context, ref referralItem, why referral.Why) {
	if slices.ContainsFunc(ref.Unpaid, func(w referral.Why) bool { return w.EventID == why.EventID }) {
		return // a refusal repeated
	}
	cond := expression.Name("version").Equal(expression.Value(ref.Version))
	upd := expression.Set(expression.Name("unpaid"), expression.Value(whyValues(referral.AddWhy(ref.Unpaid, why)))).
		Set(expression.Name("version"), expression.Value(ref.Version+1))
	expr, err := expression.NewBuilder().WithUpdate(upd).WithCondition(cond).Build()
	if err != nil {
		return
	}
	_, _ = s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: aws.String(s.table), Key: key(ref.PK, ref.SK),
		UpdateExpression: expr.Update(), ConditionExpression: expr.Condition(),
		ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values()})
}

// whyValues is a referral's unpaid conversions as stored (by their json names, as items are).
func whyValues(whys []referral.Why) types.AttributeValue {
	v, err := attributevalue.MarshalWithOptions(whys, func(o *attributevalue.EncoderOptions) { o.TagKey = "json" })
	if err != nil {
		panic(fmt.Sprintf("unpaid conversions: %v", err)) // plain values: cannot fail
	}
	return v
}
