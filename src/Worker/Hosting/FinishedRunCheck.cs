using System.Text.Json;
using MmCluster.Shared.Runs;

namespace MmCluster.Worker.Hosting;

/// <summary>
/// What a worker that found no coordinator makes of the run directory it shares with the coordinator (a Kubernetes
/// volume): when the run's <c>summary.json</c> says it succeeded and lists this worker's own Job among its workers' Jobs,
/// the worker is a lost worker's replacement that came up after the run ended and after the coordinator stopped waiting
/// for such replacements (recovery.replacement_wait). Nothing is left for it to do, and failing would only fail its Job.
/// The Job's uid is what ties the summary to this pod: a summary left by an earlier run (another Job) never matches.
/// </summary>
public static class FinishedRunCheck
{
    /// <summary>
    /// The line to end with (exit 0) when <paramref name="runDirectory"/>'s summary shows a run that succeeded with a
    /// worker of Job <paramref name="jobUid"/>; null otherwise, and then <paramref name="why"/> says why when there is a
    /// summary (for the failure message).
    /// </summary>
    public static string? Finished(string runDirectory, string jobUid, out string? why)
    {
        why = null;
        var path = Path.Combine(runDirectory, "summary.json");
        if (string.IsNullOrEmpty(jobUid) || !File.Exists(path))
        {
            return null;
        }
        RunSummary summary;
        try
        {
            summary = RunSummary.Read(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or JsonException or InvalidDataException)
        {
            why = $"{path} could not be read: {e.Message}";
            return null;
        }
        if (!summary.WorkerJobs.Contains(jobUid, StringComparer.Ordinal))
        {
            why = $"{path} is run {summary.RunId}'s, whose workers were not of this worker's Job {jobUid}";
            return null;
        }
        if (RunStates.ParseStatus(summary.Status) != RunState.Succeeded)
        {
            why = $"{path} says run {summary.RunId} is {summary.Status}";
            return null;
        }
        return $"run {summary.RunId} ('{summary.RunName}') of this worker's Job finished at {summary.FinishedAt:u} ({path}): " +
            "a late replacement with nothing left to do";
    }
}
