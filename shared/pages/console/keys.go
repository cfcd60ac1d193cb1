package console

import (
	"context"
	"net/http"
	"net/url"
	"strings"

	"github.com/referral/referrals/shared/api"
	"github.com/referral/referrals/shared/auth"
)

// keys is the API keys page: issue a key (its secret is shown once, on the page that issues
// it) and revoke one by its id.
func (c *Console) keys(_ context.Context, req api.Request, v *visit) (api.Response, error) {
	return c.keysPage(http.StatusOK, v, map[string]any{"Done": doneMessages[req.QueryStringParameters["done"]]})
}

func (c *Console) keysPage(status int, v *visit, data map[string]any) (api.Response, error) {
	d := map[string]any{"Issued": false, "Done": "", "NameError": "", "ScopeError": "", "KeyIDError": "", "Name": "", "KeyID": "",
		"Scopes": []any{map[string]any{"Value": auth.ScopeServer, "Label": "server: the shop's backend (codes, referrals, conversions)"},
			map[string]any{"Value": auth.ScopeAdmin, "Label": "admin: everything, this console included"}}}
	for k, x := range data {
		d[k] = x
	}
	return c.page(status, "keys", v, v.root, d, "API keys")
}

func (c *Console) issueKey(ctx context.Context, _ api.Request, v *visit, form url.Values) (api.Response, error) {
	var issued api.IssuedKey
	name := strings.TrimSpace(form.Get("name"))
	ae, err := c.callJSON(ctx, v, "POST /keys", nil, nil, map[string]string{"scope": form.Get("scope"), "name": name}, &issued)
	if err != nil {
		return api.Response{}, err
	}
	if ae != nil {
		field := map[string]string{"scope": "ScopeError", "name": "NameError"}[inputOf(ae.Field)]
		if field == "" {
			field = "NameError"
		}
		return c.keysPage(ae.Status, v, map[string]any{field: fieldMessage(ae), "Name": name})
	}
	c.log.InfoContext(ctx, "console issued a key", "keyId", issued.KeyID, "scope", issued.Scope, "by", v.keyID)
	return c.keysPage(http.StatusCreated, v, map[string]any{"Issued": true, "Secret": issued.Secret, "IssuedID": issued.KeyID,
		"IssuedScope": issued.Scope, "IssuedName": issued.Name})
}

func (c *Console) revokeKey(ctx context.Context, _ api.Request, v *visit, form url.Values) (api.Response, error) {
	id := strings.TrimSpace(form.Get("keyId"))
	ae, err := c.callJSON(ctx, v, "DELETE /keys/{keyId}", map[string]string{"keyId": id}, nil, nil, nil)
	if err != nil {
		return api.Response{}, err
	}
	if ae != nil {
		return c.keysPage(ae.Status, v, map[string]any{"KeyIDError": fieldMessage(ae), "KeyID": id})
	}
	c.log.InfoContext(ctx, "console revoked a key", "keyId", id, "by", v.keyID)
	return redirect(v.root + "console/keys?done=revoked"), nil
}
