package redact

import (
	"slices"
	"strings"
	"testing"
)

// nameCorpus is a labelled corpus of field, key, parameter and header
// names as they appear in real APIs, frameworks and logs: true for a name
// whose value is a secret (a credential, a session, a one-time code, card
// data), false for one whose value is plain data. The labels are what a
// careful reviewer would say, not what the rules do: the rules' misses and
// false alarms show up in the precision and recall that
// TestNameCorpusPrecisionRecall reports.
var nameCorpus = map[string]bool{
	// Secret: credentials and their spellings.
	"password": true, "Password": true, "PASSWORD": true, "passwd": true, "pwd": true, "pass": true,
	"user_pass": true, "USER_PASS": true, "newPassword": true, "password_confirmation": true,
	"current_password": true, "old_pwd": true, "mysql_pwd": true, "db_password": true, "passphrase": true,
	"pass_phrase": true, "keyPassphrase": true, "passcode": true, "pw": true, "admin_pw": true,
	"secret": true, "client_secret": true, "clientSecret": true, "app_secret": true, "webhook_secret": true,
	"secrets": true, "SECRET_KEY_BASE": true, "shared_secret": true, "totp_secret": true,
	"token": true, "access_token": true, "accessToken": true, "refresh_token": true, "id_token": true,
	"idToken": true, "auth_token": true, "authToken": true, "api_token": true, "bearer_token": true,
	"csrf_token": true, "csrftoken": true, "x_csrftoken": true, "XSRF-TOKEN": true, "_xsrf": true,
	"csrf": true, "_csrf": true, "_csrf_token": true, "csrfmiddlewaretoken": true, "authenticity_token": true,
	"__RequestVerificationToken": true, "oauth_token": true, "oauth_token_secret": true, "device_token": true,
	"push_token": true, "reset_token": true, "verify_token": true, "github_token": true, "npm_token": true,
	"api_key": true, "apikey": true, "apiKey": true, "API_KEY": true, "x_api_key": true, "X-Api-Key": true,
	"private_key": true, "privateKey": true, "PRIVATE_KEY": true, "secret_key": true, "secretKey": true,
	"access_key": true, "accessKey": true, "aws_access_key_id": true, "awsAccessKeyId": true,
	"aws_secret_access_key": true, "signing_key": true, "signingKey": true, "encryption_key": true,
	"encryptionKey": true, "master_key": true, "masterKey": true, "client_key": true, "consumer_key": true,
	"consumer_secret": true, "consumer_id": true, "ssh_key": true, "hmac_key": true, "app_key": true,
	"license_key": true, "licenseKey": true, "webhook_key": true, "storage_key": true, "service_key": true,
	"service_role_key": true, "write_key": true, "public_key": true, "publicKey": true,
	"authorization": true, "Authorization": true, "Proxy-Authorization": true, "auth": true, "Auth": true,
	"AUTH": true, "oauth": true, "auth_header": true, "authHeader": true, "basic_auth": true, "authn": true,
	"authentication": true, "credential": true, "credentials": true, "Credentials": true, "aws_credentials": true,
	"jwt": true, "JWT": true, "jwtToken": true, "JWTToken": true, "user_jwt": true, "bearer": true,
	"session": true, "session_id": true, "sessionId": true, "sessionid": true, "SESSIONID": true,
	"session_key": true, "session_token": true, "user_session": true, "aiohttp_session": true, "_session": true,
	"connect.sid": true, "PHPSESSID": true, "JSESSIONID": true, "ASP.NET_SessionId": true, "sid": true,
	"laravel_session": true, "symfony": true, "cookie": true, "Cookie": true, "cookies": true,
	"set_cookie": true, "Set-Cookie": true, "x_forwarded_for": true, "X-Forwarded-For": true,
	"otp": true, "OTP": true, "otp_code": true, "otpCode": true, "totp": true, "totp_code": true,
	"mfa_code": true, "sms_code": true, "verification_code": true, "recovery_codes": true, "backup_code": true,
	"pin": true, "PIN": true, "pin_code": true, "pinCode": true, "userPin": true, "card_pin": true,
	"sig": true, "signature": true, "Signature": true, "X-Hub-Signature-256": true, "x_amz_signature": true,
	"webhook_signature": true, "sign": true, "signed": true,
	"cvv": true, "CVV": true, "cvv2": true, "cvc": true, "card_cvc": true, "security_code": true,
	"card_number": true, "cardNumber": true, "cardnumber": true, "card_no": true, "cc_number": true,
	"credit_card": true, "creditCard": true, "credit_card_number": true, "card": true,
	"ssn": true, "SSN": true, "social_security_number": true,
	"X-Auth-Token": true, "X-Session-Id": true, "X-Amz-Security-Token": true, "X-CSRF-Token": true,
	"X-XSRF-TOKEN": true, "Api_Key": true, "x-goog-api-key": true, "Ocp-Apim-Subscription-Key": true,
	"x-functions-key": true,

	// Not secret: plain data, including near misses of the words above.
	"id": false, "uuid": false, "name": false, "first_name": false, "lastName": false, "email": false,
	"username": false, "user": false, "login": false, "created_at": false, "updatedAt": false, "type": false,
	"status": false, "status_code": false, "statusCode": false, "code_name": false, "zip": false,
	"zipcode": false, "zip_code": false, "postal_code": false, "country_code": false, "currency_code": false,
	"error_code": false, "http_code": false, "language": false, "locale": false, "timezone": false,
	"passenger": false, "passengers": false, "passenger_name": false, "passport_number": false,
	"passport": false, "compass": false, "bypass_cache": false, "passed": false, "pass_rate": false,
	"pinned": false, "is_pinned": false, "pinnedAt": false, "spinner": false, "shipping": false,
	"shipping_address": false, "pingback": false, "opinion": false, "pinterest_url": false,
	"author": false, "author_id": false, "authorId": false, "authors": false, "authority": false,
	"authored_at": false, "coauthor": false, "otpauth_enabled": false,
	"description": false, "title": false, "body": false, "content": false, "message": false,
	"comment": false, "note": false, "notes": false, "tags": false, "labels": false, "category": false,
	"price": false, "amount": false, "total": false, "quantity": false, "currency": false, "balance": false,
	"credit_limit": false, "credits": false, "discount": false, "tax": false, "order_id": false,
	"invoice_number": false, "sku": false, "product_id": false, "cart_id": false, "cardinality": false,
	"dashboard_id": false, "cards_count": false,
	"address": false, "street": false, "city": false, "state_name": false, "region": false, "lat": false,
	"lng": false, "phone": false, "website": false, "avatar_url": false, "image": false,
	"url": false, "path": false, "method": false, "host": false, "port": false, "page": false,
	"per_page": false, "limit": false, "offset": false, "cursor": false, "next": false, "sort": false,
	"order": false, "filter": false, "q": false, "query": false, "search": false, "fields": false,
	"include": false, "expand": false, "version": false, "format": false, "callback_url": false,
	"redirect_uri": false, "client_id": false, "scope": false, "grant_type": false, "response_type": false,
	"key": false, "keys": false, "primary_key": false, "sort_key": false, "partition_key": false,
	"cache_key": false, "idempotency_key": false, "object_key": false, "foreign_key": false,
	"keyboard": false, "keyword": false, "keywords": false, "monkey": false, "turkey": false,
	"design": false, "signup": false, "signup_date": false, "assigned_to": false, "signal": false,
	"sigma": false, "significant": false, "signed_up_at": false,
	"Content-Type": false, "Content-Length": false, "Accept": false, "Accept-Encoding": false,
	"User-Agent": false, "Host": false, "Referer": false, "Origin": false, "Cache-Control": false,
	"X-Request-Id": false, "X-Real-Ip": false, "WWW-Authenticate": false, "ETag": false, "Vary": false,
	"Sec-Fetch-Mode": false, "Sec-WebSocket-Version": false, "If-None-Match": false, "Location": false,
	"X-Frame-Options": false, "Strict-Transport-Security": false, "Content-Security-Policy": false,
	"counter": false, "count": false, "total_count": false, "duration_ms": false, "elapsed": false,
	"active": false, "enabled": false, "is_admin": false, "role": false, "roles": false, "permissions": false,
	"score": false, "rank": false, "level": false, "priority": false, "progress": false, "spin": false,
	"option": false, "options": false, "topping": false, "stopped": false, "laptop": false,
	"public_id": false, "publisher": false, "passive": false, "sidebar": false, "side": false, "sidecar": false,
	"consider": false, "residence": false, "signatory_name": false,
	// Plain values that the rules hide knowingly: "*session*" and "auth"
	// as words, as the trackers' lists do.
	"session_count": false, "sessions_per_day": false, "auth_method": false,
}

// Thresholds for the name rules on nameCorpus. Recall is what redaction
// is for: a secret name missed is a leak, so it must be near perfect.
// Precision may be lower: a false alarm hides a plain value, which costs
// a reader some context, never a leak; the rules knowingly take a few
// (the "*session*" of Elastic, "sign"/"signed" of Datadog and "auth" as a
// word hide plain values in names such as "session_count"). The corpus is
// built to hold many near misses, so its precision is a floor for real
// traffic, where most names are plainly not secret.
const (
	minNameRecall    = 0.99
	minNamePrecision = 0.97
)

// TestNameCorpusPrecisionRecall measures the built-in name rules against
// nameCorpus and reports precision and recall.
func TestNameCorpusPrecisionRecall(t *testing.T) {
	var tp, fp, fn, tn int
	var misses, alarms []string
	for name, secret := range nameCorpus {
		got := sensitiveName(name)
		if got != sensitiveName([]byte(name)) {
			t.Errorf("%q: string and []byte answers differ", name)
		}
		switch {
		case got && secret:
			tp++
		case got && !secret:
			fp++
			alarms = append(alarms, name)
		case !got && secret:
			fn++
			misses = append(misses, name)
		default:
			tn++
		}
	}
	slices.Sort(misses)
	slices.Sort(alarms)
	if tp+fn < 100 || fp+tn < 100 {
		t.Fatalf("corpus too small: %d secret, %d not", tp+fn, fp+tn)
	}
	precision := float64(tp) / float64(tp+fp)
	recall := float64(tp) / float64(tp+fn)
	t.Logf("name corpus: %d names (%d secret, %d not): precision %.3f, recall %.3f", len(nameCorpus), tp+fn, fp+tn, precision, recall)
	t.Logf("missed: %s", strings.Join(misses, " "))
	t.Logf("false alarms: %s", strings.Join(alarms, " "))
	if recall < minNameRecall {
		t.Errorf("recall %.3f, want at least %.3f; missed: %v", recall, minNameRecall, misses)
	}
	if precision < minNamePrecision {
		t.Errorf("precision %.3f, want at least %.3f; false alarms: %v", precision, minNamePrecision, alarms)
	}
}

// TestSegmentLists: the spelled-out matchers know every listed word and
// pair, and nothing one letter off.
func TestSegmentLists(t *testing.T) {
	for _, w := range segmentWords {
		if !segmentWord([]byte(w)) || segmentWord([]byte(w+"x")) || segmentWord([]byte("x"+w)) {
			t.Errorf("segmentWord(%q) wrong", w)
		}
		if !sensitiveName(w) || !sensitiveName("user_"+w) || !sensitiveName("x"+strings.ToUpper(w[:1])+w[1:]) {
			t.Errorf("%q not found as a word", w)
		}
	}
	for _, p := range segmentPairs {
		if !segmentPair([]byte(p[0]), []byte(p[1])) || segmentPair([]byte(p[0]+"x"), []byte(p[1])) {
			t.Errorf("segmentPair(%q) wrong", p)
		}
		if !sensitiveName(p[0] + "_" + p[1]) {
			t.Errorf("%s_%s not sensitive", p[0], p[1])
		}
	}
	for _, q := range keyQualifiers {
		if !segmentPair([]byte(q), []byte("key")) || !sensitiveName(q+"Key") || !sensitiveName(strings.ToUpper(q)+"_KEY") {
			t.Errorf("%q key not sensitive", q)
		}
	}
	for _, n := range []string{"primary_key", "sort_key", "key", "key_id", "monkey"} {
		if sensitiveName(n) {
			t.Errorf("%q sensitive", n)
		}
	}
}

func TestOAuthCode(t *testing.T) {
	r := &Options{}
	cases := []struct{ path, in, want string }{
		{"/cb", "code=abc&state=xyz", "code=[REDACTED]&state=[REDACTED]"},
		{"/cb", "state=xyz&code=abc&scope=email", "state=[REDACTED]&code=[REDACTED]&scope=email"},
		{"/oauth/callback", "code=abc", "code=[REDACTED]"},
		{"/auth/google/redirect", "CODE=abc&x=1", "CODE=[REDACTED]&x=1"},
		{"/token", "grant_type=authorization_code&code=abc&redirect_uri=https%3A%2F%2Fa", "grant_type=authorization_code&code=[REDACTED]&redirect_uri=https%3A%2F%2Fa"},
		{"/items", "code=SKU-1&page=2", "code=SKU-1&page=2"},
		{"/countries", "code=FR", "code=FR"},
		{"/cb", "state=CA&zip=1", "state=CA&zip=1"},
		{"/cb", "code=&state=x", "code=&state=x"},
	}
	for _, c := range cases {
		got, _, _ := r.URLQuery(c.path, c.in)
		if got != c.want {
			t.Errorf("URLQuery(%q, %q): got %q, want %q", c.path, c.in, got, c.want)
		}
	}
}

// TestSegmentHint: the quick look that skips splitting never skips a name
// that splitting would find sensitive.
func TestSegmentHint(t *testing.T) {
	names := []string{}
	for n := range nameCorpus {
		names = append(names, n)
	}
	for _, w := range segmentWords {
		names = append(names, w, "x_"+w, strings.ToUpper(w)+"Y")
	}
	for _, p := range segmentPairs {
		names = append(names, p[0]+"_"+p[1], p[0]+"."+p[1], p[0]+strings.ToUpper(p[1][:1])+p[1][1:])
	}
	for _, q := range keyQualifiers {
		names = append(names, q+"_key", q+".Key")
	}
	for _, n := range names {
		var f foldedName
		f.n = foldName(&f.b, n)
		if sensitiveSegments(n) && !f.segmentHint() {
			t.Errorf("%q: split finds it, the hint does not", n)
		}
	}
}
