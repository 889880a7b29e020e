using System.Diagnostics;

namespace MmCluster.Shared.Manifest.Import;

/// <summary>
/// The Fashion-MNIST manifest (Xiao, Rasul, Vollgraf 2017; MIT licence): 60,000 train + 10,000 test 28x28 images in
/// 10 classes, from Debian's <c>dataset-fashion-mnist</c> package, installed on demand when running as root on Debian.
/// </summary>
public static class FashionMnist
{
    public const string DebianPackage = "dataset-fashion-mnist";
    public const string DefaultDatasetDir = "/usr/share/datasets/fashion-mnist";

    private static readonly (string Split, string Images, string Labels)[] Splits =
    [
        ("train", "train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
        ("test", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
    ];

    /// <summary>
    /// Builds the manifest in <paramref name="outDir"/> (train-*.parquet and test-*.parquet) unless it already holds
    /// Parquet files; returns its footer summary either way. Installs the Debian package when the IDX files are missing
    /// and this is root on Debian; otherwise throws saying exactly what to install. With <paramref name="instructions"/>
    /// the rows get conversations (<see cref="FashionMnistInstructions"/>), and a manifest already there without them is
    /// refused rather than trained on as if it had them.
    /// </summary>
    public static async Task<ManifestSummary> EnsureManifestAsync(
        string outDir, string datasetDir = DefaultDatasetDir, TextWriter? log = null, bool instructions = false, CancellationToken cancellationToken = default)
    {
        if (Directory.Exists(outDir) && Directory.EnumerateFiles(outDir, "*.parquet", SearchOption.AllDirectories).Any())
        {
            log?.WriteLine($"Fashion-MNIST manifest already in {outDir}");
            var summary = await ParquetManifestReader.InspectAsync(outDir, cancellationToken);
            if (instructions && !summary.HasConversation)
            {
                throw new ManifestException(
                    $"holds a manifest without the '{ManifestSchema.Conversation}' column; import the instructions with "
                    + "'mmcluster manifest import-fashion-mnist --instructions --out DIR' into another folder, or remove this one", outDir);
            }
            return summary;
        }
        return await ImportAsync(outDir, datasetDir, log, instructions, cancellationToken);
    }

    /// <summary>
    /// Imports both splits into <paramref name="outDir"/> (replacing its train-* and test-* files) and returns the summary;
    /// with <paramref name="instructions"/>, each row also gets its conversation (training phrasings on train rows, held-out
    /// phrasings on test rows).
    /// </summary>
    public static async Task<ManifestSummary> ImportAsync(
        string outDir, string datasetDir = DefaultDatasetDir, TextWriter? log = null, bool instructions = false, CancellationToken cancellationToken = default)
    {
        await EnsureDatasetAsync(datasetDir, log, cancellationToken);
        foreach (var (split, images, labels) in Splits)
        {
            var options = new IdxImportOptions(Locate(datasetDir, images), Locate(datasetDir, labels), outDir)
            {
                ClassNames = ClassNames.FashionMnist,
                Split = split,
                KeyPrefix = "fmnist",
                Instructions = instructions,
            };
            var rows = await IdxImporter.ImportAsync(options, cancellationToken);
            log?.WriteLine($"imported {rows} {split} rows into {outDir}");
        }
        return await ParquetManifestReader.InspectAsync(outDir, cancellationToken);
    }

    /// <summary>Makes sure the four IDX files are in <paramref name="datasetDir"/>, installing the Debian package if allowed.</summary>
    public static async Task EnsureDatasetAsync(string datasetDir, TextWriter? log, CancellationToken cancellationToken)
    {
        if (HasAllFiles(datasetDir))
        {
            return;
        }
        var canInstall = datasetDir == DefaultDatasetDir && File.Exists("/etc/debian_version") && Environment.UserName == "root"
            && File.Exists("/usr/bin/apt-get");
        if (!canInstall)
        {
            throw new ManifestException(
                $"Fashion-MNIST IDX files not found. On Debian/Ubuntu run: sudo apt-get install {DebianPackage} (it installs {DefaultDatasetDir}); "
                + $"elsewhere download train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz and t10k-labels-idx1-ubyte.gz "
                + "from https://github.com/zalandoresearch/fashion-mnist (data/fashion) into that folder", datasetDir);
        }
        log?.WriteLine($"Fashion-MNIST not found in {datasetDir}: running apt-get install -y {DebianPackage}");
        if (await RunAsync("apt-get", $"install -y {DebianPackage}", log, cancellationToken) != 0)
        {
            log?.WriteLine("apt-get install failed; running apt-get update and trying again");
            await RunAsync("apt-get", "update", log, cancellationToken);
            var code = await RunAsync("apt-get", $"install -y {DebianPackage}", log, cancellationToken);
            if (code != 0)
            {
                throw new ManifestException($"apt-get install -y {DebianPackage} failed with exit code {code}", datasetDir);
            }
        }
        if (!HasAllFiles(datasetDir))
        {
            throw new ManifestException($"{DebianPackage} is installed but the IDX files are not all there", datasetDir);
        }
    }

    private static bool HasAllFiles(string datasetDir) =>
        Splits.All(s => TryLocate(datasetDir, s.Images) is not null && TryLocate(datasetDir, s.Labels) is not null);

    private static string Locate(string datasetDir, string name) =>
        TryLocate(datasetDir, name) ?? throw new ManifestException($"missing {name}(.gz)", datasetDir);

    private static string? TryLocate(string datasetDir, string name) =>
        new[] { name + ".gz", name }.Select(n => Path.Combine(datasetDir, n)).FirstOrDefault(File.Exists);

    private static async Task<int> RunAsync(string program, string arguments, TextWriter? log, CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo(program, arguments) { RedirectStandardOutput = true, RedirectStandardError = true };
        start.Environment["DEBIAN_FRONTEND"] = "noninteractive";
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"cannot start {program}");
        var stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken);
        var output = (await stdout + await stderr).TrimEnd();
        if (output.Length > 0)
        {
            log?.WriteLine(output);
        }
        return process.ExitCode;
    }
}
