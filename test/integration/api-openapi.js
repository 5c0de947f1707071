#!/usr/bin/env node
/* Validates doc/api.yaml with a third-party OpenAPI validator, then checks
 * response bodies against the schemas it declares.
 *
 *   api-openapi.js API_YAML [PATH=BODY_FILE ...]
 *
 * Each PATH=BODY_FILE pair names a GET endpoint and a file holding the body
 * ember answered; it must match the 200 response schema of that endpoint.
 * Exits 0 when everything validates, 1 otherwise, printing why. */
'use strict';
const path = require('path');
const fs = require('fs');
const modules = path.join(__dirname, '..', '..', 'tools', 'npm', 'node_modules');
const SwaggerParser = require(path.join(modules, '@apidevtools', 'swagger-parser'));
const Ajv = require(path.join(modules, 'ajv'));

/* OpenAPI 3.0's `nullable` without a `type` (on allOf/$ref wrappers, or on an
 * "any value" schema) has no JSON Schema counterpart that Ajv accepts: rewrite
 * it as anyOf [the schema, null]. */
function toJsonSchema(node) {
	if (Array.isArray(node))
		return node.map(toJsonSchema);
	if (!node || typeof node !== 'object')
		return node;
	const out = {};
	for (const [k, v] of Object.entries(node))
		out[k] = toJsonSchema(v);
	if (out.nullable && out.type === undefined) {
		delete out.nullable;
		return { anyOf: [out, { type: 'null' }] };
	}
	return out;
}

async function main() {
	const [specPath, ...pairs] = process.argv.slice(2);
	/* validate() checks the document against the OpenAPI 3 schema and resolves every $ref. */
	const api = await SwaggerParser.validate(specPath);
	console.log(`ok ${specPath}: ${api.info.title} ${api.info.version}, ${Object.keys(api.paths).length} paths`);
	const ajv = new Ajv({ allErrors: true, strict: false });
	let failed = 0;
	for (const pair of pairs) {
		const eq = pair.indexOf('=');
		const route = pair.slice(0, eq), file = pair.slice(eq + 1);
		const op = api.paths[route] && api.paths[route].get;
		if (!op) {
			console.log(`FAIL ${route}: no GET operation in ${specPath}`);
			failed++;
			continue;
		}
		const schema = toJsonSchema(op.responses['200'].content['application/json'].schema);
		const body = JSON.parse(fs.readFileSync(file, 'utf8'));
		const validate = ajv.compile(schema);
		if (validate(body)) {
			console.log(`ok GET ${route} matches its schema`);
		} else {
			console.log(`FAIL GET ${route}: ${ajv.errorsText(validate.errors)}\n  body: ${JSON.stringify(body)}`);
			failed++;
		}
	}
	process.exit(failed ? 1 : 0);
}

main().catch((e) => {
	console.log(`FAIL ${e.message}`);
	process.exit(1);
});
