import puppeteer from 'puppeteer-core';
// node first-load.mjs URL RUNS POINTS: opens the dashboard RUNS times, printing navigation -> loss chart drawn with the history loaded.
const [url, runs, points] = [process.argv[2], Number(process.argv[3] ?? 3), Number(process.argv[4] ?? 100000)];
const recorded = points.toLocaleString('en-US');
const browser = await puppeteer.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu'], headless: true });
for (let i = 0; i < runs; i++) {
  const page = await browser.newPage();
  await page.setViewport({ width: 1400, height: 1000 });
  const t0 = Date.now();
  await page.goto(url, { waitUntil: 'domcontentloaded' });
  await page.waitForFunction((recorded) => (document.getElementById('points-note')?.textContent ?? '').includes(`${recorded} recorded points`)
    && document.querySelector('#plot-loss canvas'), { timeout: 60000, polling: 10 }, recorded);
  await page.evaluate(() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r))));
  const t1 = Date.now();
  const note = await page.$eval('#points-note', e => e.textContent);
  console.log(`load ${i + 1}: ${t1 - t0} ms to charts drawn; ${note}`);
  await page.close();
}
await browser.close();
