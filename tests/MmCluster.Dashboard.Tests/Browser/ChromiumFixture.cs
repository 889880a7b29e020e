using System.Diagnostics;
using PuppeteerSharp;
using Xunit;

namespace MmCluster.Dashboard.Tests.Browser;

/// <summary>
/// One headless Debian chromium for a test class, driven by PuppeteerSharp; no browser is ever downloaded. When
/// /usr/bin/chromium is missing and the tests run as root on Debian, it runs <c>apt-get install -y chromium</c> (as the
/// Fashion-MNIST import does for its package); elsewhere it fails saying what to install. It never skips.
/// </summary>
public sealed class ChromiumFixture : IAsyncLifetime
{
    public const string ExecutablePath = "/usr/bin/chromium";
    private const string DebianPackage = "chromium";

    public IBrowser Browser { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        await EnsureInstalledAsync();
        Browser = await Puppeteer.LaunchAsync(new LaunchOptions
        {
            ExecutablePath = ExecutablePath,
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run", "--disable-extensions"],
            DefaultViewport = new ViewPortOptions { Width = 1400, Height = 1000 },
        });
    }

    public async Task DisposeAsync()
    {
        if (Browser is not null)
        {
            await Browser.CloseAsync();
            await Browser.DisposeAsync();
        }
    }

    private static async Task EnsureInstalledAsync()
    {
        if (File.Exists(ExecutablePath))
        {
            return;
        }
        var canInstall = File.Exists("/etc/debian_version") && Environment.UserName == "root" && File.Exists("/usr/bin/apt-get");
        if (!canInstall)
        {
            throw new InvalidOperationException(
                $"The dashboard's browser specs need Debian's chromium at {ExecutablePath}: run `sudo apt-get install {DebianPackage}` "
                + "(on another system, install Chromium and link its executable there). No browser is downloaded.");
        }
        // Another test assembly may be installing a package too (the Fashion-MNIST import): wait for dpkg's lock.
        const string install = $"-o DPkg::Lock::Timeout=600 install -y {DebianPackage}";
        if (await AptGetAsync(install) != 0)
        {
            await AptGetAsync("-o DPkg::Lock::Timeout=600 update");
            var code = await AptGetAsync(install);
            if (code != 0 || !File.Exists(ExecutablePath))
            {
                throw new InvalidOperationException($"apt-get install -y {DebianPackage} failed (exit code {code}); {ExecutablePath} is still missing");
            }
        }
    }

    private static async Task<int> AptGetAsync(string arguments)
    {
        var start = new ProcessStartInfo("apt-get", arguments) { RedirectStandardOutput = true, RedirectStandardError = true };
        start.Environment["DEBIAN_FRONTEND"] = "noninteractive";
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        await Task.WhenAll(output, error);
        return process.ExitCode;
    }
}
