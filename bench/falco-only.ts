// npm run bench:falco: only the real-Falco delivery section of `npm run bench` (a few minutes).
import { measureFalcoDelivery } from './falco-delivery.js';
import { renderFalcoDelivery } from './falco-delivery-report.js';

const result = await measureFalcoDelivery({ seconds: Number(process.env.BENCH_SECONDS ?? 5) });
console.log(renderFalcoDelivery(result));
