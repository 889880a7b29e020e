namespace MmCluster.Shared.Manifest.Import;

/// <summary>One entry of a LLaVA JSON file that <see cref="LlavaJsonImporter"/> did not import, named so a user can find it.</summary>
/// <param name="Entry">The entry's index in the JSON list (from 0).</param>
/// <param name="Id">The entry's <c>id</c>, when it has one.</param>
/// <param name="Reason">Why it was left out.</param>
/// <param name="Detail">What was found (the path, the parse error, the decoder's result).</param>
public sealed record LlavaImportSkip(long Entry, string? Id, LlavaImportSkipReason Reason, string Detail)
{
    public override string ToString() => $"entry {Entry}{(Id is null ? "" : $" (id '{Id}')")}: skipped, {Reason}: {Detail}";
}
