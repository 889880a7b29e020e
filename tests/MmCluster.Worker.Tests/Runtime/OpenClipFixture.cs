using System.Runtime.InteropServices;
using MmCluster.Worker.Checkpoints;

namespace MmCluster.Worker.Tests.Runtime;

/// <summary>
/// The committed OpenCLIP fixture (Fixtures/openclip, written by <c>bench/openclip_reference.py fixture</c>): random
/// openclip-micro weights under OpenCLIP's names, a 32x32 PNG, input pixels and token rows, and the embeddings the
/// Python re-implementation of OpenCLIP's CLIP computed from them.
/// </summary>
internal static class OpenClipFixture
{
    public const double Tolerance = 1e-4;

    public static string Folder => Path.Combine(AppContext.BaseDirectory, "Fixtures", "openclip");

    public static string Weights => Path.Combine(Folder, "weights.safetensors");

    public static string Image => Path.Combine(Folder, "image.png");

    private static readonly Lazy<Dictionary<string, SafeTensorEntry>> Expected = new(() =>
        SafeTensorsFile.Read(Path.Combine(Folder, "expected.safetensors")).Tensors.ToDictionary(t => t.Name, StringComparer.Ordinal));

    public static SafeTensorEntry Entry(string name) => Expected.Value[name];

    public static float[] Floats(string name) => MemoryMarshal.Cast<byte, float>(Entry(name).Data).ToArray();

    public static long[] Longs(string name) => MemoryMarshal.Cast<byte, long>(Entry(name).Data).ToArray();

    /// <summary>Rows of an expected (N, D) matrix.</summary>
    public static float[][] Rows(string name)
    {
        var (values, dim) = (Floats(name), (int)Entry(name).Shape[1]);
        return [.. values.Chunk(dim)];
    }

    public static double MaxAbsDifference(float[][] actual, float[][] expected)
    {
        Xunit.Assert.Equal(expected.Length, actual.Length);
        return actual.Zip(expected, (a, e) =>
        {
            Xunit.Assert.Equal(e.Length, a.Length);
            return a.Zip(e, (x, y) => Math.Abs((double)x - y)).Max();
        }).Max();
    }
}
