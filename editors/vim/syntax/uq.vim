" Vim syntax file for uq (.uq models). Keywords, distributions and built-ins follow the lexer and
" the registries (tests/editors.rs checks them).
if exists('b:current_syntax')
  finish
endif

syn keyword uqStatement import data let fn prior infer output
syn keyword uqType real complex
syn keyword uqDistribution Beta Exponential Flat Gamma GaussianMixture HalfCauchy HalfNormal InverseGamma Laplace LogNormal Normal Poisson Rician StudentT Uniform score supn
syn keyword uqBuiltin fft ifft fftshift ifftshift conj re im abs abs2 exp log sqrt softplus sum mean conv downsample upsample crop pad nufft nufft_adjoint nufft_dcf gaussian_kernel load
syn match uqNumber '\<\d\+\(\.\d\+\)\=\([eE][+-]\=\d\+\)\=\>'
syn match uqOperator '[-+*/@~=]'
syn match uqFnName '\(\<fn\s\+\)\@<=\h\w*'
syn match uqEscape '\\["\\]' contained
syn region uqString start='"' skip='\\\\\|\\"' end='"\|$' contains=uqEscape oneline
syn match uqComment '#.*$' contains=@Spell

hi def link uqStatement Keyword
hi def link uqType Type
hi def link uqDistribution Structure
hi def link uqBuiltin Function
hi def link uqFnName Function
hi def link uqNumber Number
hi def link uqOperator Operator
hi def link uqString String
hi def link uqEscape SpecialChar
hi def link uqComment Comment

let b:current_syntax = 'uq'
