using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using PuppeteerSharp;
using Xunit;
using Xunit.Abstractions;

namespace MmCluster.Dashboard.Tests.Browser;

/// <summary>
/// What the page specs share, whichever server they open: a page that aborts and records every request to a host off
/// loopback (each spec asserts there was none), DOM reads, polling with a timeout, and screenshots to screenshots/ beside
/// the test assembly.
/// </summary>
internal static class DashboardPage
{
    public static readonly WaitForFunctionOptions Soon = new() { Timeout = 10_000, PollingInterval = 50 };

    public static async Task<(IPage Page, ConcurrentQueue<string> Foreign)> OpenAsync(IBrowser browser, Uri address, ITestOutputHelper output)
    {
        var page = await browser.NewPageAsync();
        var foreign = new ConcurrentQueue<string>();
        await page.SetRequestInterceptionAsync(true);
        page.Request += async (_, e) =>
        {
            if (IsOffLoopback(e.Request.Url))
            {
                foreign.Enqueue(e.Request.Url);
                await e.Request.AbortAsync();
            }
            else
            {
                await e.Request.ContinueAsync();
            }
        };
        page.Console += (_, e) => output.WriteLine($"console.{e.Message.Type}: {e.Message.Text}");
        page.PageError += (_, e) => output.WriteLine($"page error: {e.Message}");
        await page.GoToAsync(address.ToString(), new NavigationOptions { Timeout = 10_000 });
        return (page, foreign);
    }

    public static Task<string> TextAsync(IPage page, string selector) =>
        page.EvaluateFunctionAsync<string>("s => document.querySelector(s)?.textContent ?? ''", selector);

    public static Task<int> CountAsync(IPage page, string selector) =>
        page.EvaluateFunctionAsync<int>("s => document.querySelectorAll(s).length", selector);

    public static async Task WaitUntilAsync(Func<bool> condition, string what)
    {
        var deadline = Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(10), $"timed out waiting for {what}");
            await Task.Delay(20);
        }
    }

    public static async Task ScreenshotAsync(IPage page, string name, ITestOutputHelper output)
    {
        var dir = Path.Combine(AppContext.BaseDirectory, "screenshots");
        Directory.CreateDirectory(dir);
        var path = Path.Combine(dir, $"{name}.png");
        await page.ScreenshotAsync(path, new ScreenshotOptions { FullPage = true });
        output.WriteLine($"screenshot: {path}");
    }

    private static bool IsOffLoopback(string url)
    {
        var uri = new Uri(url);
        if (uri.Scheme is not ("http" or "https" or "ws" or "wss" or "ftp"))
        {
            return false;
        }
        return !(uri.Host == "localhost" || (IPAddress.TryParse(uri.Host, out var ip) && IPAddress.IsLoopback(ip)));
    }
}
