using System.CommandLine;

namespace MmCluster.Cli.Commands;

/// <summary><c>mmcluster manifest import-idx | synth | inspect</c> (not implemented yet).</summary>
internal static class ManifestCommand
{
    public static Command Create()
    {
        var command = new Command("manifest", "Create and inspect image-text manifests (folders of Parquet files).");
        return command;
    }
}
