// Calls customers.retrieveBilling with the official @flowglad/node SDK and prints what came back:
// {"ok": <billing>} or {"error": {"name", "status", "body"}}. Usage: node retrieve_billing.mjs <baseURL> <apiKey> <externalId>
import Flowglad from '@flowglad/node';

const [baseURL, apiKey, externalId] = process.argv.slice(2);
const client = new Flowglad({ apiKey, baseURL, maxRetries: 0 });
try {
  const billing = await client.customers.retrieveBilling(externalId);
  console.log(JSON.stringify({ ok: billing }));
} catch (err) {
  console.log(JSON.stringify({ error: { name: err.constructor.name, status: err.status, body: err.error } }));
}
