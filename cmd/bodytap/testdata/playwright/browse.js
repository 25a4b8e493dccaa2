// browse.js drives headless Chromium through Playwright for cmd/bodytap's
// mock tests (mock_browser_test.go):
//
//	node browse.js BASE_URL OUT_JSON [--har HAR_FILE] PATH...
//
// It opens BASE_URL+PATH for each PATH in turn in one page of a fresh
// browser context, waits until the network is idle, and writes to OUT_JSON
// every response the browser received, in order: method, URL, status,
// Content-Type and body (base64; null when the browser keeps none, as for
// a redirect). With --har, the context records everything into HAR_FILE
// with Playwright's recordHar, bodies embedded: a HAR as Chromium records
// it, which 'bodytap mock --har' must serve.
//
// The browser is Debian's Chromium ($CHROMIUM, else /usr/bin/chromium):
// Playwright's own browser downloads are not used.
'use strict';
const fs = require('fs');
const { chromium } = require('playwright-core');

async function main() {
	const args = process.argv.slice(2);
	let har = '';
	const i = args.indexOf('--har');
	if (i >= 0) {
		har = args[i + 1];
		args.splice(i, 2);
	}
	const [base, out, ...paths] = args;
	if (!base || !out || paths.length === 0) {
		throw new Error('usage: node browse.js BASE_URL OUT_JSON [--har HAR_FILE] PATH...');
	}
	const browser = await chromium.launch({
		executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
		args: ['--disable-gpu', '--disable-dev-shm-usage'],
	});
	try {
		const context = await browser.newContext(har ? { recordHar: { path: har, content: 'embed' } } : {});
		const page = await context.newPage();
		const pending = [];
		page.on('response', (resp) => {
			pending.push((async () => {
				let body = null;
				try {
					body = (await resp.body()).toString('base64');
				} catch (e) {
					// A redirect has no body the browser keeps.
				}
				return {
					method: resp.request().method(),
					url: resp.url(),
					status: resp.status(),
					contentType: (await resp.allHeaders())['content-type'] || '',
					body,
				};
			})());
		});
		for (const p of paths) {
			const resp = await page.goto(base + p, { waitUntil: 'networkidle' });
			if (!resp) {
				throw new Error(`${p}: no response`);
			}
		}
		const responses = await Promise.all(pending);
		await context.close(); // writes the HAR file
		fs.writeFileSync(out, JSON.stringify(responses, null, 1));
	} finally {
		await browser.close();
	}
}

main().catch((e) => {
	console.error(e.stack || String(e));
	process.exit(1);
});
