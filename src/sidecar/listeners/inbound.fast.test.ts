/** inbound.test.ts again, with the raw fast-path edge engine serving the listeners. */
process.env.MESHER_TEST_EDGE_ENGINE = 'fast';
await import('./inbound.test.ts');
