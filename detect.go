package bodytap

import (
	"strings"

	"github.com/bodytap/bodytap/internal/redact"
)

// A Detector is a set of value detectors: the checks that find a secret by
// what it looks like, whatever name it is under (see [Redaction]). The
// zero Detector is the empty set. [Redaction].DisableDetectors turns
// detectors off; [Exchange].Detected says which found something.
type Detector uint32

// The value detectors. Each reads a published token format: its prefix,
// length and alphabet (the anchors are the formats that gitleaks and
// GitHub secret scanning document).
const (
	// DetectJWT finds JSON Web Tokens: "eyJ" and at least 7 more base64url
	// bytes (the header), '.', a payload of at least 2, '.', and a
	// signature, which may be empty; a JWE's five parts are taken whole.
	DetectJWT Detector = 1 << iota

	// DetectHTTPAuth finds the credentials after "Bearer" (at least 12
	// bytes of the token68 alphabet, with a letter and a digit) and after
	// "Basic" (base64 that decodes to "user:password"), in any case, in
	// any text, not only the Authorization header.
	DetectHTTPAuth

	// DetectAWS finds AWS access key IDs (AKIA, ASIA, ABIA, ACCA or A3T?
	// and 16 more upper-case letters or digits) and secret access keys (a
	// run of exactly 40 of [A-Za-z0-9/+] with both cases and a digit, and
	// either '/' or '+' in it or "aws" or "secret" just before it).
	DetectAWS

	// DetectGitHub finds GitHub tokens: ghp_, gho_, ghu_, ghs_ and ghr_
	// and 36 or more letters or digits; github_pat_ and 22 or more.
	DetectGitHub

	// DetectGitLab finds GitLab tokens: glpat-, gldt-, glrt-, glptt-,
	// glft-, glimt-, glagent-, gloas-, glsoat-, glcbt- and glffct- with 20
	// or more of [A-Za-z0-9_-] (and '.'-separated parts), and runner
	// registration tokens (GR1348941...).
	DetectGitLab

	// DetectSlack finds Slack tokens (xoxb-, xoxp-, xoxa-, xoxr-, xoxs-,
	// xoxe-, xoxo-, xapp-) and the secret path of incoming webhook URLs
	// (hooks.slack.com/services/...).
	DetectSlack

	// DetectStripe finds Stripe secret and restricted keys (sk_ or rk_,
	// then live_, test_ or prod_, then letters and digits) and webhook
	// signing secrets (whsec_). Publishable keys (pk_) are not secret.
	DetectStripe

	// DetectGoogle finds Google API keys: AIza and 35 of [A-Za-z0-9_-].
	DetectGoogle

	// DetectOpenAI finds OpenAI-style keys: "sk-" and at least 32 of
	// [A-Za-z0-9_-] with both cases and two digits (sk-proj-, sk-svcacct-,
	// sk-admin- and the legacy form; other vendors' sk- keys too).
	DetectOpenAI

	// DetectPrivateKey finds PEM private-key blocks: from "-----BEGIN" of
	// a label with "PRIVATE KEY" in it (RSA, EC, DSA, OPENSSH, ENCRYPTED,
	// PGP ... BLOCK) to the end of its "-----END ...-----" line, or to the
	// end of the string or body that cuts it off.
	DetectPrivateKey

	// DetectCard finds payment card numbers: 13 to 19 digits, maybe in
	// groups split by single spaces or dashes, with an issuer prefix and
	// a length that issuer uses (Visa, Mastercard, American Express,
	// Discover, JCB, Diners Club, UnionPay), passing the Luhn check. In
	// JSON, numbers are checked too.
	DetectCard

	numDetectors = iota

	// AllDetectors is the set of every detector.
	AllDetectors Detector = 1<<numDetectors - 1
)

// Names returns the names of the detectors in d, in the order above:
// "jwt", "http-auth", "aws", "github", "gitlab", "slack", "stripe",
// "google-api-key", "openai", "private-key", "card".
func (d Detector) Names() []string { return redact.Detector(d).Names() }

// String returns the names of the detectors in d separated by commas, or
// "" for none.
func (d Detector) String() string { return strings.Join(d.Names(), ",") }

// DetectorNamed returns the detector that [Detector.Names] calls name, or
// 0 if there is none.
func DetectorNamed(name string) Detector { return Detector(redact.DetectorNamed(name)) }
