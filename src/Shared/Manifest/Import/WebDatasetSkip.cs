namespace MmCluster.Shared.Manifest.Import;

/// <summary>A sample or member of a webdataset tar that <see cref="WebDatasetImporter"/> did not import, named so a user can find it.</summary>
/// <param name="Tar">The tar's path.</param>
/// <param name="Member">The member's name inside the tar (for a truncated tar, the member where the damage is).</param>
/// <param name="Reason">Why it was left out.</param>
/// <param name="Detail">What was found (the decoder's result, the byte offset of the damage).</param>
public sealed record WebDatasetSkip(string Tar, string Member, WebDatasetSkipReason Reason, string Detail)
{
    public override string ToString() => $"{Path.GetFileName(Tar)}: {Member}: skipped, {Reason}: {Detail}";
}
