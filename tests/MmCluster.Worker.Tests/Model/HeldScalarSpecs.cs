using MmCluster.Worker.Torch;
using Mono.Cecil;
using Mono.Cecil.Cil;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace MmCluster.Worker.Tests.Model;

/// <summary>
/// No temporary TorchSharp Scalar in the worker's code (see <see cref="HeldScalars"/>): the worker assembly's IL is
/// scanned for numbers converted to a Scalar that is not kept in a local, field or static, and for calls to TorchSharp
/// methods that make such a Scalar themselves (<c>a + b</c>, <c>x * 0.5</c>, <c>add(t)</c>, <c>arange(n)</c>, ...).
/// </summary>
public sealed class HeldScalarSpecs
{
    [Fact]
    public void Should_hold_every_scalar_it_hands_to_libtorch_when_the_worker_assembly_is_scanned()
    {
        var sites = TemporaryScalars.Find(typeof(HeldScalars).Assembly.Location);

        Assert.True(sites.Count == 0, $"temporary Scalars, which the GC may free while libtorch reads them (use HeldScalars):\n{string.Join('\n', sites)}");
    }

    [Fact]
    public void Should_find_the_temporary_scalars_of_operators_numbers_and_alphas_when_code_makes_them()
    {
        var sites = TemporaryScalars.Find(typeof(HeldScalarSpecs).Assembly.Location, type => type.Name == nameof(Unheld));

        Assert.Equal(5, sites.Select(s => s[..s.IndexOf(": ", StringComparison.Ordinal)]).Distinct().Count());   // one line each
        Assert.Contains(sites, s => s.Contains("op_Multiply", StringComparison.Ordinal));   // x * 0.5
        Assert.Contains(sites, s => s.Contains("op_Addition", StringComparison.Ordinal));   // a + b: TorchSharp's own alpha of 1
        Assert.Contains(sites, s => s.Contains("number", StringComparison.Ordinal));        // x.lt(3): the 3
        Assert.Contains(sites, s => s.Contains("arange", StringComparison.Ordinal));        // arange(n): TorchSharp's own start and step
        Assert.Empty(TemporaryScalars.Find(typeof(HeldScalarSpecs).Assembly.Location, type => type.Name == nameof(Held)));
    }

    [Fact]
    public void Should_compute_what_the_operators_compute_when_the_scalars_are_held()
    {
        using var scope = NewDisposeScope();
        var x = tensor(new float[] { 1, 2, 3, 4 });
        var y = tensor(new float[] { 0.5f, -1, 2, 8 });

        Assert.True(x.Plus(y).equal(x + y).all().item<bool>());
        Assert.True(x.Times(0.5).equal(x * 0.5).all().item<bool>());
        Assert.True(x.Over(2.0).equal(x / 2.0).all().item<bool>());
        Assert.True(x.Minus(1.0).equal(x - 1.0).all().item<bool>());
        Assert.True(x.Less(3).equal(x.lt(3)).all().item<bool>());
        Assert.True(HeldScalars.Range(5, null).equal(arange(5, dtype: ScalarType.Int64)).all().item<bool>());
        Assert.True(HeldScalars.Filled([2, 3], -100, null).equal(full([2, 3], -100, ScalarType.Int64)).all().item<bool>());
        Assert.Equal([2f, 2f, 3f, 3f], x.clone().ClampInPlace(2, 3).data<float>().ToArray());
    }

    /// <summary>Each line makes a Scalar that nothing holds during the native call.</summary>
    private static class Unheld
    {
        public static Tensor Half(Tensor x) => x * 0.5;

        public static Tensor Sum(Tensor a, Tensor b) => a + b;

        public static Tensor Below(Tensor x) => x.lt(3);

        public static Tensor Rows(long n) => arange(n, dtype: ScalarType.Int64);

        public static Tensor Stored(Tensor x)
        {
            var s = 0.25.ToScalar();   // a local never disposed: dead once mul has read its handle
            return x.mul(s);
        }
    }

    private static class Held
    {
        public static Tensor Half(Tensor x) => x.Times(0.5);

        public static Tensor Sum(Tensor a, Tensor b) => a.Plus(b);

        public static Tensor Below(Tensor x) => x.Less(3);

        public static Tensor Rows(long n) => HeldScalars.Range(n, null);

        public static Tensor Stored(Tensor x)
        {
            using var s = 0.25.ToScalar();
            return x.mul(s);
        }
    }
}

/// <summary>The IL scan behind <see cref="HeldScalarSpecs"/>.</summary>
internal static class TemporaryScalars
{
    private static readonly Lazy<HashSet<string>> MakersInTorchSharp = new(FindMakers);

    /// <summary>"file:line: what" for every temporary Scalar in the assembly's methods (of the types <paramref name="types"/> accepts).</summary>
    public static List<string> Find(string assemblyPath, Func<TypeDefinition, bool>? types = null)
    {
        var resolver = new DefaultAssemblyResolver();
        resolver.AddSearchDirectory(Path.GetDirectoryName(assemblyPath)!);
        using var assembly = AssemblyDefinition.ReadAssembly(assemblyPath, new ReaderParameters { ReadSymbols = true, AssemblyResolver = resolver });
        var makers = MakersInTorchSharp.Value;
        var sites = new List<string>();
        foreach (var type in assembly.MainModule.GetTypes().Where(t => types is null || Chain(t).Any(types)))
        {
            foreach (var method in type.Methods.Where(m => m.HasBody))
            {
                foreach (var instruction in method.Body.Instructions)
                {
                    if (instruction.Operand is not MethodReference called || instruction.OpCode.Code is not (Code.Call or Code.Callvirt or Code.Newobj))
                    {
                        continue;
                    }
                    string? what = null;
                    if (MakesScalar(called) && !IsHeld(method, instruction.Next))
                    {
                        what = $"a number ({called.Parameters[0].ParameterType.Name}) made into a Scalar nothing holds";
                    }
                    else if (called.DeclaringType.Scope.Name.StartsWith("TorchSharp", StringComparison.Ordinal) && makers.Contains(called.FullName))
                    {
                        what = $"{called.DeclaringType.Name}.{called.Name}({string.Join(", ", called.Parameters.Select(p => p.ParameterType.Name))}) makes a Scalar inside TorchSharp";
                    }
                    if (what is not null)
                    {
                        var point = method.DebugInformation.SequencePoints.LastOrDefault(s => s.Offset <= instruction.Offset && !s.IsHidden);
                        var where = point is null ? $"{type.FullName}.{method.Name}" : $"{Path.GetFileName(point.Document.Url)}:{point.StartLine}";
                        sites.Add($"{where}: {what}");
                    }
                }
            }
        }
        return sites;
    }

    private static IEnumerable<TypeDefinition> Chain(TypeDefinition type)
    {
        for (var t = type; t is not null; t = t.DeclaringType)
        {
            yield return t;
        }
    }

    private static bool MakesScalar(MethodReference method) =>
        method.ReturnType.FullName == "TorchSharp.Scalar" && method.Name is "op_Implicit" or "ToScalar";

    /// <summary>
    /// Held: stored in a field (alive with its object or the process), or in a local that is disposed later in the method
    /// (<c>using var s = x.ToScalar()</c>: the disposal keeps it alive through every call before it). A local that is
    /// only stored is dead once its handle is read, as a temporary is.
    /// </summary>
    private static bool IsHeld(MethodDefinition method, Instruction? next)
    {
        if (next is null)
        {
            return false;
        }
        if (next.OpCode.Code is Code.Stsfld or Code.Stfld)
        {
            return true;
        }
        var local = LocalIndex(method, next, stores: true);
        if (local is null)
        {
            return false;
        }
        for (var i = next.Next; i is not null; i = i.Next)
        {
            if (LocalIndex(method, i, stores: false) == local)
            {
                // ldloc s; [brfalse.s end; ldloc s;] callvirt Dispose
                var after = i.Next;
                if (after is not null && after.OpCode.Code is Code.Brfalse or Code.Brfalse_S && after.Next is { } reload && LocalIndex(method, reload, stores: false) == local)
                {
                    after = reload.Next;
                }
                if (after?.Operand is MethodReference { Name: "Dispose" })
                {
                    return true;
                }
            }
        }
        return false;
    }

    /// <summary>The local a stloc (<paramref name="stores"/>) or ldloc instruction names; null for any other instruction.</summary>
    private static int? LocalIndex(MethodDefinition method, Instruction instruction, bool stores) => (stores, instruction.OpCode.Code) switch
    {
        (true, Code.Stloc_0) or (false, Code.Ldloc_0) => 0,
        (true, Code.Stloc_1) or (false, Code.Ldloc_1) => 1,
        (true, Code.Stloc_2) or (false, Code.Ldloc_2) => 2,
        (true, Code.Stloc_3) or (false, Code.Ldloc_3) => 3,
        (true, Code.Stloc or Code.Stloc_S) or (false, Code.Ldloc or Code.Ldloc_S) => ((VariableDefinition)instruction.Operand).Index,
        _ => null,
    };

    /// <summary>TorchSharp's methods that make a Scalar themselves, directly or through another of its methods.</summary>
    private static HashSet<string> FindMakers()
    {
        using var torchSharp = AssemblyDefinition.ReadAssembly(typeof(TorchSharp.Scalar).Assembly.Location);
        var methods = torchSharp.MainModule.GetTypes().SelectMany(t => t.Methods).Where(m => m.HasBody).ToList();
        var makers = methods.Where(m => m.Body.Instructions.Any(i => i.Operand is MethodReference r && MakesScalar(r)))
            .Select(m => m.FullName).ToHashSet(StringComparer.Ordinal);
        for (var grew = true; grew;)
        {
            grew = false;
            foreach (var method in methods.Where(m => !makers.Contains(m.FullName)))
            {
                if (method.Body.Instructions.Any(i => i.Operand is MethodReference r && makers.Contains(r.FullName)))
                {
                    grew = makers.Add(method.FullName) || grew;
                }
            }
        }
        return makers;
    }
}
