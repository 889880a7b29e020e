using MmCluster.Shared.Manifest;
using MmCluster.Shared.Spec;

namespace MmCluster.Shared.Hosting;

/// <summary>
/// Turns the expected failures of a command (bad spec, bad manifest, bad flags) into one clear line and exit code 2, and
/// any other exception into its full text and <see cref="CrashExitCode"/>: a crash that a restart may cure, which the
/// Kubernetes Jobs' podFailurePolicy retries (exit 1 stays "the run failed", which restarting cannot help).
/// </summary>
public static class CommandGuard
{
    /// <summary>The exit code of an unexpected exception (BSD's EX_SOFTWARE).</summary>
    public const int CrashExitCode = 70;

    public static async Task<int> RunAsync(string role, Func<Task<int>> run)
    {
        ArgumentNullException.ThrowIfNull(run);
        try
        {
            return await run().ConfigureAwait(false);
        }
        catch (RunSpecException e)
        {
            await Console.Error.WriteLineAsync($"mmcluster {role}: the run spec has problems:\n{e.Message}").ConfigureAwait(false);
            return 2;
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or ManifestException or FileNotFoundException or DirectoryNotFoundException)
        {
            await Console.Error.WriteLineAsync($"mmcluster {role}: {e.Message}").ConfigureAwait(false);
            return 2;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            await Console.Error.WriteLineAsync($"mmcluster {role}: unexpected error (exit {CrashExitCode}; a restart may cure it): {e}").ConfigureAwait(false);
            return CrashExitCode;
        }
    }
}
