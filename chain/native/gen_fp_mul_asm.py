"""Writes the mulx/adox/adcx rounds of the 6-limb Montgomery product `fp_mul` in chain/native/g1.c.

    python chain/native/gen_fp_mul_asm.py

prints the asm text that sits between `__asm__(` and the operand lists there. Each round adds
a·b_i into the running value with two carry chains (adox for the low words of the products,
adcx for the high words), then adds m·p with m = t0·(−p⁻¹ mod 2^64), which zeroes the lowest
limb; the limb is dropped by rotating the register names rather than moving values.
"""

LIMBS = 6


def rounds() -> tuple[list[str], list[int]]:
    """(asm lines, which t-register holds each result limb, lowest first)."""
    lines = [f"xorl %k[t{i}], %k[t{i}]" for i in range(LIMBS)]
    t = list(range(LIMBS + 1))  # t[k] = register index of running limb k
    for i in range(LIMBS):
        reg = [f"%[t{t[k]}]" for k in range(LIMBS + 1)]
        lines += ["xorl %k[z], %k[z]", f"movq {8 * i}(%[b]), %%rdx"]
        for j in range(LIMBS - 1):
            lines += [f"mulxq {8 * j}(%[a]), %[lo], %[hi]", f"adoxq %[lo], {reg[j]}", f"adcxq %[hi], {reg[j + 1]}"]
        last = LIMBS - 1
        lines += [
            f"mulxq {8 * last}(%[a]), %[lo], {reg[LIMBS]}",
            f"adoxq %[lo], {reg[last]}",
            f"adcxq %[z], {reg[LIMBS]}",
            f"adoxq %[z], {reg[LIMBS]}",
            f"movq {reg[0]}, %%rdx",
            "imulq %[inv], %%rdx",
            "xorl %k[z], %k[z]",
        ]
        for j in range(LIMBS):
            lines += [f"mulxq {8 * j}+%[p], %[lo], %[hi]", f"adoxq %[lo], {reg[j]}", f"adcxq %[hi], {reg[j + 1]}"]
        lines.append(f"adoxq %[z], {reg[LIMBS]}")
        t = t[1:] + t[:1]
    return lines, t[:LIMBS]


if __name__ == "__main__":
    text, result = rounds()
    print(f"        /* result limbs in t{', t'.join(map(str, result))} */")
    print("\n".join(f'        "{line}\\n\\t"' for line in text))
